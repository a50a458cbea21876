"""The studio's analysis settings page: derived scores, segments, validity rules and the
banner of cross-tabs, edited together and stored as the draft through the one rulebook.

    GET/POST /studio/<slug>/settings/
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from analysis.selectors import latest_successful_run
from studio.forms import kept_in_order
from studio.forms_settings import (
    RulesForm,
    ScoreFormSet,
    SegmentFormSet,
    rules_initial,
    settings_apply,
    settings_place,
)
from studio.pages import SAVED, login_guard, studio_draft_save, studio_questionnaire
from studio.services.edits import document_questions
from studio.views_logic import logic_questions
from survey.labels import label_text
from survey.models import Questionnaire
from survey.services.drafts import definition_draft_get
from wenji.access import is_admin


def _choices(document: dict[str, Any], language: str) -> dict[str, list[tuple[str, str]]]:
    scorable, banner = [], []
    for _section, question in document_questions(document):
        code = str(question.get("code"))
        name = f"{code} {label_text(question.get('label'), language)[:30]}"
        if question.get("type") in ("single", "matrix"):
            scorable.append((code, name))
        if question.get("type") == "single":
            banner.append((code, name))
    for segment in document.get("segments") or []:
        label = label_text(segment.get("label"), language) or segment.get("code")
        banner.append((f"segment:{segment.get('code')}", _("segment: %(name)s") % {"name": label}))
    return {"scorable": scorable, "banner": banner}


def _forms(document: dict[str, Any], data: Any = None) -> dict[str, Any]:
    choices = _choices(document, get_language())
    scores = ScoreFormSet(
        data,
        prefix="scores",
        initial=None
        if data
        else [
            {"code": s.get("code"), "of": s.get("of"), "label": s.get("label")}
            for s in document.get("scores") or []
        ],
        form_kwargs={"scorable": choices["scorable"]},
    )
    segments = SegmentFormSet(
        data,
        prefix="segments",
        initial=None
        if data
        else [
            {"code": s.get("code"), "label": s.get("label"), "rule": s.get("rule")}
            for s in document.get("segments") or []
        ],
    )
    rules = RulesForm(
        data,
        prefix="rules",
        initial=None if data else rules_initial(document),
        banner_choices=choices["banner"],
    )
    return {"scores": scores, "segments": segments, "rules": rules}


def _kept(formset: forms.BaseFormSet) -> list[forms.Form]:
    return [f for f in kept_in_order(formset) if f.has_changed() or f.initial]


@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_settings(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=request.method == "POST")
    state = definition_draft_get(questionnaire=questionnaire)
    if request.method != "POST":
        return _page(request, questionnaire, state, _forms(state.document))
    bound = _forms(state.document, request.POST)
    if not all(f.is_valid() for f in bound.values()):
        return _page(request, questionnaire, state, bound, status=400)
    scores, segments = _kept(bound["scores"]), _kept(bound["segments"])
    document = settings_apply(
        state.document, scores=scores, segments=segments, rules=bound["rules"]
    )
    status, problems = studio_draft_save(
        request, questionnaire, document, _("The analysis settings were saved in the draft.")
    )
    if status != SAVED:
        elsewhere = settings_place(problems, scores=scores, segments=segments, rules=bound["rules"])
        return _page(request, questionnaire, state, bound, problems=elsewhere, status=status)
    return HttpResponseRedirect(reverse("studio:settings", kwargs={"slug": slug}))


def _page(
    request: HttpRequest,
    questionnaire: Questionnaire,
    state: Any,
    bound: dict[str, Any],
    *,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    run = latest_successful_run(questionnaire)
    counts = (run.counts or {}) if run else {}
    context = {
        "title": _("Analysis settings: %(title)s")
        % {"title": label_text(state.document.get("title"), get_language())},
        "questionnaire": questionnaire,
        "state": state,
        "admin": is_admin(request.user),
        "problems": problems or [],
        "median_duration": counts.get("median_duration"),
        "speeder_threshold": counts.get("speeder_threshold"),
        "builder_url": reverse("studio:builder", kwargs={"slug": questionnaire.slug}),
        "logic_questions": logic_questions(state.document, get_language()),
        "check_url": reverse("studio:logic-check", kwargs={"slug": questionnaire.slug})
        + "?segment=1",
        **bound,
    }
    return render(request, "studio/settings.html", context, status=status)
