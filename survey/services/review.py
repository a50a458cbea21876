"""A person's decision on a response's status (the review of flagged or doubtful responses).

Promises:
- a decision is recorded whole or not at all: the ``StatusChange`` row (who, when, from what,
  to what, why) and the response's ``manual_status`` and ``status`` change in one transaction;
- concurrent decisions on one response are serialised by a row lock, so each StatusChange's
  ``from_status`` is the status the reviewer actually replaced;
- ``manual_status`` is what recomputation keeps: the validity rules never override a person.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from survey.models import AuditEvent, Response, StatusChange, responses_changed
from survey.services.audit import audit_event_record
from survey.services.notify import new_data_signal
from survey.services.quotas import quotas_recount
from wenji.errors import DomainError

REASON_MAX_LENGTH = 2000


class StatusChangeInvalid(DomainError):
    """A status decision that was refused. Nothing was stored."""

    code = "invalid_status_change"


def response_set_status(
    *, response: Response, status: Any, reason: Any, user: AbstractBaseUser
) -> Response:
    """Set ``response``'s status by a person's decision and record it; returns the response.

    ``status`` must be one of ``Response.Status``; ``reason`` must be non-blank text of at most
    ``REASON_MAX_LENGTH`` characters (it is stored trimmed). Raises ``StatusChangeInvalid``
    naming the field otherwise. ``response`` is updated in place.
    """
    reason_text = _clean_reason(status=status, reason=reason)
    now = timezone.now()
    with transaction.atomic():
        current = (
            Response.objects.select_for_update().only("id", "status").get(pk=response.pk).status
        )
        StatusChange.objects.create(
            response=response,
            from_status=current,
            to_status=status,
            reason=reason_text,
            changed_by=user,
            changed_at=now,
        )
        Response.objects.filter(pk=response.pk).update(status=status, manual_status=status)
        responses_changed(response.questionnaire_id, [response.pk])
        questionnaire_id = response.questionnaire_id
        transaction.on_commit(lambda: new_data_signal(questionnaire_id))
        if (current == Response.Status.INVALID) != (status == Response.Status.INVALID):
            quotas_recount(questionnaire=response.questionnaire_id)
        audit_event_record(
            action=AuditEvent.Action.STATUS_OVERRIDE,
            user=user,
            questionnaire=response.questionnaire,
            details={
                "response": response.pk,
                "from": current,
                "to": status,
                "reason": reason_text,
                "rows": 1,
            },
        )
    response.status = status
    response.manual_status = status
    return response


def _clean_reason(*, status: Any, reason: Any) -> str:
    fields: dict[str, list[str]] = {}
    if not isinstance(status, str) or status not in Response.Status.values:
        fields["status"] = [
            _("Choose one of: %s.") % ", ".join(Response.Status.values),
        ]
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        fields["reason"] = [_("Say why the status changes.")]
    elif len(text) > REASON_MAX_LENGTH:
        fields["reason"] = [
            _("At most %(max)d characters (this has %(count)d).")
            % {"max": REASON_MAX_LENGTH, "count": len(text)}
        ]
    elif any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        fields["reason"] = [_("The text contains control characters.")]
    if fields:
        raise StatusChangeInvalid(_("The status change was refused."), fields)
    return text
