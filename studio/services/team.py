"""Who works on a questionnaire: grants to analysts and collectors, and collector API tokens.

Promises:
- ``team_grant`` gives an existing user the role (analyst or collector) and a grant of the
  questionnaire; granting twice is one grant. ``team_revoke`` removes the grant (the user and
  their role stay: other questionnaires may be granted to them).
- ``collector_token_create`` makes a collector of its own for the questionnaire (a user
  without a password, in the collector role, granted only this questionnaire) with an API
  token, and returns the token's secret: the only time it is shown. Later pages show its
  first four characters. ``collector_token_revoke`` deletes the token, the grant and
  deactivates that user, so the secret stops working at once.
- Each of these is recorded in the audit log (who, what, for whom), never with the secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from survey.models import AuditEvent, Questionnaire, QuestionnaireAccess
from survey.services.audit import audit_event_record
from wenji.access import ANALYST, COLLECTOR
from wenji.errors import DomainError

TEAM_ROLES = (ANALYST, COLLECTOR)
TOKEN_USER_PREFIX = "collector-"


class TeamChangeRefused(DomainError):
    code = "team_change_refused"


@dataclass(frozen=True)
class CollectorToken:
    name: str
    secret: str


def team_grant(
    *, questionnaire: Questionnaire, username: str, role: str, by: AbstractBaseUser
) -> User:
    if role not in TEAM_ROLES:
        raise TeamChangeRefused(_("Grant the role analyst or collector."), {"role": [role]})
    user = User.objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        message = _("There is no active account %(name)s; create it in the admin first.") % {
            "name": username.strip()
        }
        raise TeamChangeRefused(message, {"username": [message]})
    with transaction.atomic():
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        QuestionnaireAccess.objects.get_or_create(user=user, questionnaire=questionnaire)
        audit_event_record(
            action=AuditEvent.Action.ACCESS_GRANT,
            user=by,
            questionnaire=questionnaire,
            details={"user": user.get_username(), "role": role},
        )
    return user


def team_revoke(*, questionnaire: Questionnaire, user_id: int, by: AbstractBaseUser) -> bool:
    with transaction.atomic():
        grant = QuestionnaireAccess.objects.filter(
            questionnaire=questionnaire, user_id=user_id
        ).select_related("user")
        found = grant.first()
        if found is None:
            return False
        grant.delete()
        audit_event_record(
            action=AuditEvent.Action.ACCESS_REVOKE,
            user=by,
            questionnaire=questionnaire,
            details={"user": found.user.get_username()},
        )
    return True


def collector_token_create(*, questionnaire: Questionnaire, by: AbstractBaseUser) -> CollectorToken:
    name = f"{TOKEN_USER_PREFIX}{questionnaire.slug}-{secrets.token_hex(3)}"[:150]
    with transaction.atomic():
        user = User.objects.create_user(name, password=None)
        user.groups.add(Group.objects.get_or_create(name=COLLECTOR)[0])
        QuestionnaireAccess.objects.create(user=user, questionnaire=questionnaire)
        token = Token.objects.create(user=user)
        audit_event_record(
            action=AuditEvent.Action.TOKEN_CREATE,
            user=by,
            questionnaire=questionnaire,
            details={"collector": name},
        )
    return CollectorToken(name=name, secret=token.key)


def collector_token_revoke(
    *, questionnaire: Questionnaire, user_id: int, by: AbstractBaseUser
) -> bool:
    user = User.objects.filter(
        pk=user_id,
        username__startswith=f"{TOKEN_USER_PREFIX}{questionnaire.slug}-",
        questionnaire_access__questionnaire=questionnaire,
    ).first()
    if user is None:
        return False
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        QuestionnaireAccess.objects.filter(user=user).delete()
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_event_record(
            action=AuditEvent.Action.TOKEN_REVOKE,
            user=by,
            questionnaire=questionnaire,
            details={"collector": user.get_username()},
        )
    return True
