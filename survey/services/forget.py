"""Respondents' rights (PIPL art. 47): deleting one respondent's data when they ask.

Promises:
- ``respondent_forget`` finds the respondent by the identity they gave (a WeChat openid, the
  device id, or a collector's respondent key), hashed exactly as it was when they answered,
  and deletes every response of that identity to the questionnaire: the response rows, their
  answer rows and their status history. The respondent row goes too once nothing of theirs is
  left in any questionnaire.
- One transaction, all or nothing; one ``AuditEvent`` (``respondent_forget``) records who did
  it, on which questionnaire and how many responses went, and never the identity (neither
  raw nor hashed). A request for an identity that never answered is recorded the same way,
  with 0, so every request is on record.
- The analysis is told the data changed (after commit); its next run no longer counts them.
- ``identities_expire`` applies each questionnaire's ``identity_retention_days``: responses
  submitted before that many days ago lose their respondent link and network address hash
  (the response and its answers stay, anonymous); respondent rows left with no response go.
  One audit row per questionnaire that had any (``identity_retention``, with the count). A
  dropped identity can no longer make a later response a duplicate of it: the next run's
  validity says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from survey.models import AuditEvent, Questionnaire, Respondent, Response, responses_changed
from survey.services.audit import audit_event_record
from survey.services.identity import Identity, identity_hash
from survey.services.notify import new_data_signal
from wenji.errors import DomainError


class ForgetInvalid(DomainError):
    code = "invalid"


def forget_identity(*, kind: str, value: str, collector: str = "") -> Identity:
    """The identity a respondent gave, as it was hashed when they answered: a WeChat openid,
    the form's device id, or a collector's respondent key (``collector``: that collector's
    username). Raises ``ForgetInvalid`` naming the field."""
    if kind not in Respondent.Kind.values:
        message = _("Choose one of: %s.") % ", ".join(Respondent.Kind.values)
        raise ForgetInvalid(message, {"kind": [message]})
    if not value:
        message = _("Give the identity the respondent gave.")
        raise ForgetInvalid(message, {"value": [message]})
    if kind != Respondent.Kind.COLLECTOR:
        return Identity(kind, value)
    if not collector:
        message = _("Name the collector whose respondent key this is.")
        raise ForgetInvalid(message, {"collector": [message]})
    user = get_user_model().objects.filter(username=collector).first()
    if user is None:
        message = _("There is no user %(name)s.") % {"name": collector}
        raise ForgetInvalid(message, {"collector": [message]})
    return Identity(kind, f"{user.pk}:{value}")  # as survey.api.views hashes a collector's key


def respondent_forget(
    *, questionnaire: Questionnaire, identity: Identity, user: AbstractBaseUser
) -> int:
    """Delete the responses of ``identity`` to ``questionnaire``; how many were deleted."""
    with transaction.atomic():
        respondent = Respondent.objects.filter(identity_hash=identity_hash(identity)).first()
        deleted = 0
        if respondent is not None:
            responses = Response.objects.filter(questionnaire=questionnaire, respondent=respondent)
            responses_changed(questionnaire.pk, list(responses.values_list("id", flat=True)))
            _rows, by_model = responses.delete()  # answer rows and status changes cascade
            deleted = by_model.get(Response._meta.label, 0)
            if not Response.objects.filter(respondent=respondent).exists():
                respondent.delete()
        audit_event_record(
            action=AuditEvent.Action.RESPONDENT_FORGET,
            user=user,
            questionnaire=questionnaire,
            details={"kind": identity.kind, "rows": deleted},
        )
        if deleted:
            transaction.on_commit(lambda: new_data_signal(questionnaire.pk))
    return deleted


def identities_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Drop identities older than each questionnaire's retention; responses changed per slug."""
    now = now or timezone.now()
    changed: dict[str, int] = {}
    for questionnaire in Questionnaire.objects.filter(identity_retention_days__isnull=False):
        cutoff = now - timedelta(days=questionnaire.identity_retention_days)
        with transaction.atomic():
            old = Response.objects.filter(questionnaire=questionnaire, submitted_at__lt=cutoff)
            old = old.exclude(respondent__isnull=True, ip_hash="")
            respondents = set(
                old.exclude(respondent__isnull=True).values_list("respondent_id", flat=True)
            )
            count = old.update(respondent=None, ip_hash="")
            if not count:
                continue
            Respondent.objects.filter(pk__in=respondents, responses__isnull=True).delete()
            audit_event_record(
                action=AuditEvent.Action.IDENTITY_RETENTION,
                user=None,
                questionnaire=questionnaire,
                details={"rows": count, "days": questionnaire.identity_retention_days},
            )
            transaction.on_commit(lambda pk=questionnaire.pk: new_data_signal(pk))
        changed[questionnaire.slug] = count
    return changed
