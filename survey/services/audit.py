"""The audit trail: what people did with collected data (exports, status overrides, ...).

Promises:
- ``audit_event_record`` adds one ``AuditEvent`` row and never changes an earlier one, except
  ``audit_event_add_details``, which only adds keys a finished operation learns late (an
  export's row count); it never removes or rewrites what was recorded.
- The actor's username and the questionnaire's slug are copied into ``details``, so the record
  still reads correctly after either is deleted.
- Called inside the caller's transaction: an operation that rolls back leaves no audit row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from survey.models import AuditEvent, Questionnaire


def audit_event_record(
    *,
    action: str,
    user: AbstractBaseUser | AnonymousUser | None,
    questionnaire: Questionnaire | None,
    details: Mapping[str, Any],
) -> AuditEvent:
    """Record that ``user`` did ``action`` (one of ``AuditEvent.Action``) on ``questionnaire``.

    ``details`` must be JSON-able; ``actor`` and ``questionnaire`` keys are set here.
    """
    if action not in AuditEvent.Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    actor = user if user is not None and user.is_authenticated else None
    recorded = {
        **details,
        "actor": actor.get_username() if actor is not None else None,
        "questionnaire": questionnaire.slug if questionnaire is not None else None,
    }
    return AuditEvent.objects.create(
        action=action, actor=actor, questionnaire=questionnaire, details=recorded
    )


def audit_event_add_details(*, event_id: int, details: Mapping[str, Any]) -> None:
    """Add keys learnt after the event was recorded; keys already present are kept as they were."""
    event = AuditEvent.objects.filter(pk=event_id).only("details").first()
    if event is None:
        return
    added = {key: value for key, value in details.items() if key not in event.details}
    if added:
        AuditEvent.objects.filter(pk=event_id).update(details={**event.details, **added})
