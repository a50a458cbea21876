"""A questionnaire's team: grants to analysts and collectors, and collector API tokens (the
secret shown once, with a curl example of a submission). Admins only.

    GET/POST /studio/<slug>/team/     POST ``action``: grant, revoke, token, untoken
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from studio.pages import login_guard, studio_questionnaire
from studio.services.team import (
    TEAM_ROLES,
    TOKEN_USER_PREFIX,
    TeamChangeRefused,
    collector_token_create,
    collector_token_revoke,
    team_grant,
    team_revoke,
)
from survey.labels import label_text
from survey.models import Questionnaire, QuestionnaireAccess
from wenji.access import ROLES


def _whole(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


@never_cache  # the page that shows a new token's secret is kept nowhere
@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_team(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=True)
    created = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        user_id = _whole(request.POST.get("user", ""))
        try:
            if action == "grant":
                granted = team_grant(
                    questionnaire=questionnaire,
                    username=request.POST.get("username", "")[:150],
                    role=request.POST.get("role", ""),
                    by=request.user,
                )
                messages.success(request, _("%(name)s was granted.") % {"name": granted})
            elif action == "revoke" and user_id is not None:
                team_revoke(questionnaire=questionnaire, user_id=user_id, by=request.user)
                messages.success(request, _("The grant was removed."))
            elif action == "token":
                created = collector_token_create(questionnaire=questionnaire, by=request.user)
            elif action == "untoken" and user_id is not None:
                collector_token_revoke(
                    questionnaire=questionnaire, user_id=user_id, by=request.user
                )
                messages.success(request, _("The token was revoked: it no longer works."))
        except TeamChangeRefused as error:
            messages.error(request, error.message)
        if created is None:
            return HttpResponseRedirect(reverse("studio:team", kwargs={"slug": slug}))
    return _page(request, questionnaire, created)


def _page(request: HttpRequest, questionnaire: Questionnaire, created: object) -> HttpResponse:
    grants = (
        QuestionnaireAccess.objects.filter(questionnaire=questionnaire)
        .select_related("user")
        .prefetch_related("user__groups")
        .order_by("granted_at")
    )
    prefix = f"{TOKEN_USER_PREFIX}{questionnaire.slug}-"
    keys = dict(
        Token.objects.filter(user__questionnaire_access__questionnaire=questionnaire).values_list(
            "user_id", "key"
        )
    )
    people, tokens = [], []
    for grant in grants:
        user = grant.user
        if user.username.startswith(prefix):
            tokens.append(
                {"user": user, "granted_at": grant.granted_at, "hint": keys.get(user.pk, "")[:4]}
            )
        else:
            roles = [g.name for g in user.groups.all() if g.name in ROLES]
            people.append({"user": user, "roles": roles, "granted_at": grant.granted_at})
    submissions = request.build_absolute_uri(
        f"/api/v1/questionnaires/{questionnaire.slug}/submissions/"
    )
    curl = None
    if created is not None:
        body = json.dumps({"submission_id": str(uuid.uuid4()), "answers": {}}, ensure_ascii=False)
        curl = (
            f"curl -X POST '{submissions}' \\\n"
            f"  -H 'Authorization: Token {created.secret}' \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d '{body}'"
        )
    context = {
        "title": _("Team: %(title)s") % {"title": label_text(questionnaire.title)},
        "questionnaire": questionnaire,
        "people": people,
        "tokens": tokens,
        "roles": TEAM_ROLES,
        "created": created,
        "curl": curl,
        "builder_url": reverse("studio:builder", kwargs={"slug": questionnaire.slug}),
    }
    return render(request, "studio/team.html", context)
