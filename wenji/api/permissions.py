"""DRF permission classes over the roles of ``wenji.access``, and the lookup of a granted
questionnaire that every API view of one questionnaire starts with.

A questionnaire that is not granted to the user (and the user is not an admin) is "not found"
(404), so its existence is not revealed; a user whose role cannot do the operation at all is
refused (403); an anonymous one is asked to authenticate (401).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from survey.models import Questionnaire
from wenji.access import ADMIN, ANALYST, COLLECTOR, is_admin, questionnaire_for_user, user_roles

if TYPE_CHECKING:  # rest_framework.views imports the authentication classes, which import this
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _HasRole(BasePermission):
    """Lets in admins and users with one of ``roles``; anonymous users get a 401."""

    roles: frozenset[str] = frozenset()
    message = gettext_lazy("Your role does not allow this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        held = user_roles(request.user)
        return ADMIN in held or bool(held & self.roles)


class IsCollector(_HasRole):
    roles = frozenset({COLLECTOR})
    message = gettext_lazy("Only collectors and admins may submit responses.")


class IsAdmin(_HasRole):
    """Admins only (superusers count): they build, publish and share questionnaires."""

    message = gettext_lazy("Only admins may edit and publish questionnaires.")


class IsAnalyst(_HasRole):
    roles = frozenset({ANALYST})
    message = gettext_lazy("Only analysts and admins may read and review responses.")


def granted_questionnaire(request: Request, slug: str) -> Questionnaire:
    questionnaire = questionnaire_for_user(
        slug=slug, user=request.user, admin=is_admin(request.user)
    )
    if questionnaire is None:
        raise NotFound(_("There is no questionnaire %s you can access.") % slug)
    return questionnaire
