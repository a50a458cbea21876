"""Roles (the groups ``admin``, ``analyst``, ``collector``; superusers count as admin) and the
DRF permission classes built on them.

A role says what kind of work a user does; which questionnaires they do it on is a separate
grant (``QuestionnaireAccess``), checked where the questionnaire is looked up
(``survey.selectors_responses.questionnaire_for_user``). Admins need no grant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:  # rest_framework.views imports the authentication classes, which import this
    from rest_framework.request import Request
    from rest_framework.views import APIView

from survey.models import Questionnaire
from survey.selectors_responses import questionnaire_granted

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


class _HasRole(BasePermission):
    """Lets in admins and users with one of ``roles``; anonymous users get a 401."""

    roles: frozenset[str] = frozenset()
    message = _("Your role does not allow this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        held = user_roles(request.user)
        return ADMIN in held or bool(held & self.roles)


class IsCollector(_HasRole):
    roles = frozenset({COLLECTOR})
    message = _("Only collectors and admins may submit responses.")


class IsAnalyst(_HasRole):
    roles = frozenset({ANALYST})
    message = _("Only analysts and admins may read and review responses.")
