"""Quotas in the studio: each quota's cells filling up (live, from the definition in force),
and the draft's quotas to edit: add one over one or more single-choice questions, set each
cell's target in a grid of their options (empty: no limit), choose what a full cell does.

    GET/POST /studio/<slug>/quotas/     POST ``action``: add, save, delete

Every change is saved in the draft through the one rulebook (its problems are shown with their
place) and applies once the draft is published; counts carry over for cells that stay.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from studio.pages import SAVED, login_guard, studio_draft_save, studio_questionnaire
from studio.services.edits import document_questions
from survey.expressions import canonical_code
from survey.labels import label_text
from survey.models import Quota
from survey.quotas_checks import cell_key
from survey.services.drafts import definition_draft_get
from survey.services.quotas import quota_progress
from wenji.access import is_admin

MAX_GRID = 200  # cells shown to edit at once


class AddQuotaForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code"),
        regex=r"^[A-Za-z][A-Za-z0-9_]*$",
        max_length=64,
        error_messages={"invalid": gettext_lazy("Use a letter, then letters, digits or _.")},
    )
    label = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    of = forms.MultipleChoiceField(
        label=gettext_lazy("Over the questions"),
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Single-choice questions; a cell is one option of each."),
    )
    when_full = forms.ChoiceField(
        label=gettext_lazy("When a cell is full"),
        choices=Quota.WhenFull.choices,
        initial=Quota.WhenFull.END,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, singles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["of"].choices = singles


def _singles(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(q["code"]): q for _s, q in document_questions(document) if q.get("type") == "single"
    }


def _grid(quota: dict[str, Any], singles: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every combination of the quota's questions' options, with the target set for it."""
    language = get_language()
    options = [
        [
            (o["code"], label_text(o.get("label"), language))
            for o in singles.get(code, {}).get("options", [])
            if not o.get("hidden")
        ]
        for code in quota["of"]
    ]
    targets = {cell_key(quota["of"], c["when"]): c["target"] for c in quota.get("cells", [])}
    rows = []
    for combination in itertools.islice(itertools.product(*options), MAX_GRID):
        key = "|".join(canonical_code(code) for code, _label in combination)
        rows.append(
            {
                "key": key,
                "label": " × ".join(label for _code, label in combination),
                "target": targets.get(key, ""),
            }
        )
    return rows


@require_http_methods(["GET", "HEAD", "POST"])
@login_guard
def studio_quotas(request: HttpRequest, slug: str) -> HttpResponse:
    questionnaire = studio_questionnaire(request, slug, edit=request.method == "POST")
    state = definition_draft_get(questionnaire=questionnaire)
    singles = _singles(state.document)
    choices = [
        (code, f"{code} {label_text(q.get('label'), get_language())[:30]}")
        for code, q in singles.items()
    ]
    add = AddQuotaForm(singles=choices)
    problems: list[str] = []
    if request.method == "POST":
        document = copy.deepcopy(state.document)
        quotas = document.setdefault("quotas", [])
        action = request.POST.get("action")
        if action == "add":
            add = AddQuotaForm(request.POST, singles=choices)
            if not add.is_valid():
                return _page(request, questionnaire, state, singles, add, problems, status=400)
            entry: dict[str, Any] = {"code": add.cleaned_data["code"]}
            if add.cleaned_data["label"].strip():
                entry["label"] = add.cleaned_data["label"].strip()
            entry["of"] = list(add.cleaned_data["of"])
            if add.cleaned_data["when_full"] != Quota.WhenFull.END:
                entry["when_full"] = add.cleaned_data["when_full"]
            entry["cells"] = []
            quotas.append(entry)
        elif action in ("save", "delete"):
            code = request.POST.get("quota", "")
            index = next((i for i, q in enumerate(quotas) if q.get("code") == code), None)
            if index is None:
                problems.append(_("There is no quota %(code)s in the draft.") % {"code": code})
                return _page(request, questionnaire, state, singles, add, problems, status=400)
            if action == "delete":
                del quotas[index]
            else:
                problem = _save(quotas[index], singles, request.POST)
                if problem:
                    problems.append(problem)
                    return _page(request, questionnaire, state, singles, add, problems, 400)
        if not quotas:
            del document["quotas"]
        status, refused = studio_draft_save(request, questionnaire, document)
        if status != SAVED:
            problems = [f"{p.place}: {p.message}" for p in refused]
            return _page(request, questionnaire, state, singles, add, problems, status=status)
        return HttpResponseRedirect(reverse("studio:quotas", kwargs={"slug": slug}))
    return _page(request, questionnaire, state, singles, add, problems)


def _save(quota: dict[str, Any], singles: dict[str, Any], data: Any) -> str | None:
    """Set the quota's cells and action from the grid; a problem in words, or None."""
    cells = []
    for row in _grid(quota, singles):
        raw = data.get(f"target-{row['key']}", "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) < 1:
            return _("%(cell)s: the target must be a whole number of at least 1, not %(raw)s") % {
                "cell": row["label"],
                "raw": raw,
            }
        codes = row["key"].split("|")
        when = {}
        for question, code in zip(quota["of"], codes, strict=True):
            option = next(
                o for o in singles[question]["options"] if canonical_code(o["code"]) == code
            )
            when[question] = option["code"]
        cells.append({"when": when, "target": int(raw)})
    quota["cells"] = cells
    when_full = data.get("when_full", Quota.WhenFull.END)
    if when_full == Quota.WhenFull.END:
        quota.pop("when_full", None)
    else:
        quota["when_full"] = when_full
    return None


def _page(
    request: HttpRequest,
    questionnaire: Any,
    state: Any,
    singles: dict[str, Any],
    add: AddQuotaForm,
    problems: list[str],
    status: int = 200,
) -> HttpResponse:
    drafts = [
        {
            "code": q.get("code"),
            "label": label_text(q.get("label"), get_language()),
            "of": q.get("of", []),
            "when_full": q.get("when_full", Quota.WhenFull.END),
            "grid": _grid(q, singles),
        }
        for q in state.document.get("quotas") or []
        if all(code in singles for code in q.get("of", []))
    ]
    context = {
        "title": _("Quotas: %(title)s") % {"title": label_text(state.document.get("title"))},
        "questionnaire": questionnaire,
        "state": state,
        "admin": is_admin(request.user),
        "progress": quota_progress(questionnaire=questionnaire, language=get_language()),
        "drafts": drafts,
        "add": add,
        "problems": problems,
        "when_full_choices": Quota.WhenFull.choices,
        "builder_url": reverse("studio:builder", kwargs={"slug": questionnaire.slug}),
    }
    return render(request, "studio/quotas.html", context, status=status)
