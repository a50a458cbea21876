"""What every studio page shares: who may open it (admins edit, granted analysts read, everyone
else is sent to the login or refused), the words of an edit conflict, and saving a page's form
into the draft (``studio_draft_save``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from survey.interchange_problems import Problem
from survey.models import Questionnaire
from wenji.access import ADMIN, ANALYST, questionnaire_for_user, user_roles


class LoginRequired(Exception):
    """The visitor is not logged in."""


def studio_reader(request: HttpRequest) -> bool:
    """Whether the user administers (True) or only reads (False); refuses everyone else."""
    if not request.user.is_authenticated:
        raise LoginRequired
    roles = user_roles(request.user)
    if ADMIN not in roles and ANALYST not in roles:
        raise PermissionDenied(_("Only admins and analysts may open the studio."))
    return ADMIN in roles


def studio_questionnaire(request: HttpRequest, slug: str, *, edit: bool) -> Questionnaire:
    admin = studio_reader(request)
    if edit and not admin:
        raise PermissionDenied(_("Only admins may change questionnaires."))
    questionnaire = questionnaire_for_user(slug=slug, user=request.user, admin=admin)
    if questionnaire is None:
        raise Http404(_("There is no questionnaire %s you can access.") % slug)
    return questionnaire


def login_guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Send a visitor who is not logged in to the login page, back here afterwards."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except LoginRequired:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)

    return guarded


def conflict_message() -> str:
    return _(
        "Someone else changed this questionnaire after you opened it; your change was not "
        "saved, so that theirs is not lost. Reload the page and make your change again."
    )


SAVED, CONFLICT, REFUSED = 302, 409, 400


def studio_draft_save(
    request: HttpRequest,
    questionnaire: Questionnaire,
    document: dict[str, Any],
    success: str | None = None,
) -> tuple[int, list[Problem]]:
    """Store ``document`` as the draft from the etag the page was made with (its ``etag``
    field). Returns ``(SAVED, [])`` with ``success`` (default: "saved in the draft") as the
    page's message, ``(CONFLICT,
    [])`` with the conflict message added when another save came first, or ``(REFUSED,
    problems)`` for the page to place beside its fields."""
    from survey.services.drafts import DefinitionInvalid, DraftChanged, definition_draft_save

    try:
        definition_draft_save(
            questionnaire=questionnaire,
            document=document,
            if_match=request.POST.get("etag", ""),
            user=request.user,
        )
    except DraftChanged:
        messages.error(request, conflict_message())
        return CONFLICT, []
    except DefinitionInvalid as error:
        return REFUSED, list(error.problems)
    messages.success(
        request, success or _("Saved in the draft: it applies once the draft is published.")
    )
    return SAVED, []
