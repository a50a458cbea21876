"""Who may do what: roles, and grants of questionnaires.

A role (the groups ``admin``, ``analyst``, ``collector``; superusers count as admin) says
what kind of work a user does. Which questionnaires they do it on is a separate grant
(``QuestionnaireAccess``), checked where the questionnaire is looked up
(``questionnaire_for_user``). Admins need no grant. The API's permission classes
(``wenji.api.permissions``) and every page build on these functions.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from survey.models import Questionnaire, QuestionnaireAccess

ADMIN = "admin"
ANALYST = "analyst"
COLLECTOR = "collector"

ROLES = (ADMIN, ANALYST, COLLECTOR)

_ROLES_ATTRIBUTE = "_wenji_roles"


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    """The user's roles; one query per user object (none when the token authentication has
    read them already), then remembered on it."""
    if user is None or not user.is_authenticated:
        return frozenset()
    roles = getattr(user, _ROLES_ATTRIBUTE, None)
    if roles is None:
        roles = remember_roles(
            user, user.groups.filter(name__in=ROLES).values_list("name", flat=True)
        )
    return roles


def remember_roles(user: AbstractBaseUser, groups: Iterable[str]) -> frozenset[str]:
    """Remember ``user``'s roles from the names of the role groups they are in."""
    roles = frozenset(groups) | ({ADMIN} if user.is_superuser else frozenset())
    setattr(user, _ROLES_ATTRIBUTE, roles)
    return roles


def is_admin(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return ADMIN in user_roles(user)


def questionnaire_for_user(
    *, slug: str, user: AbstractBaseUser | None, admin: bool
) -> Questionnaire | None:
    """The questionnaire ``slug`` if ``user`` may work on it: admins see every questionnaire,
    anyone else only those granted to them through ``QuestionnaireAccess``. One query."""
    questionnaires = Questionnaire.objects.filter(slug=slug)
    if not admin:
        if user is None or not user.is_authenticated:
            return None
        questionnaires = questionnaires.filter(access_grants__user=user)
    return questionnaires.first()


def questionnaire_granted(*, questionnaire: Questionnaire, user: AbstractBaseUser) -> bool:
    return QuestionnaireAccess.objects.filter(questionnaire=questionnaire, user_id=user.pk).exists()


def may_read_definition(
    user: AbstractBaseUser | AnonymousUser | None, questionnaire: Questionnaire
) -> bool:
    """Open and closed definitions are public (a closed one is harmless and lets a client
    show why it no longer accepts answers); a draft is for admins and granted analysts."""
    if questionnaire.status != Questionnaire.Status.DRAFT:
        return True
    if is_admin(user):
        return True
    return ANALYST in user_roles(user) and questionnaire_granted(
        questionnaire=questionnaire, user=user
    )
