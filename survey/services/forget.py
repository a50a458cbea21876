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
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from survey.models import AuditEvent, Questionnaire, Respondent, Response
from survey.services.audit import audit_event_record
from survey.services.identity import Identity, identity_hash
from survey.services.notify import new_data_signal


def respondent_forget(
    *, questionnaire: Questionnaire, identity: Identity, user: AbstractBaseUser
) -> int:
    """Delete the responses of ``identity`` to ``questionnaire``; how many were deleted."""
    with transaction.atomic():
        respondent = Respondent.objects.filter(identity_hash=identity_hash(identity)).first()
        deleted = 0
        if respondent is not None:
            responses = Response.objects.filter(questionnaire=questionnaire, respondent=respondent)
            deleted = responses.count()
            responses.delete()  # answer rows and status changes cascade
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
