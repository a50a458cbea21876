"""The logic designer's two helpers on the server: the questions an expression may read (for
the designer's pickers) and a live check of an expression by the one rulebook.

    GET /studio/<slug>/logic/check/?e=EXPR&question=CODE   a show_if of that question
    GET /studio/<slug>/logic/check/?e=EXPR&segment=1       a segment rule

The check puts the expression where it would go in the draft document and asks
``definition_problems``: the answer is exactly what saving would say about it.
"""

from __future__ import annotations

import copy
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from studio.pages import login_guard, studio_questionnaire
from studio.services.edits import (
    document_questions,
    question_codes,
    question_find,
    question_path,
)
from survey.interchange_checks import definition_problems
from survey.labels import label_text
from survey.services.drafts import definition_draft_get

MAX_EXPRESSION = 2000


def logic_questions(
    document: dict[str, Any], language: str, *, before: str = ""
) -> list[dict[str, Any]]:
    """The questions a designer may offer, each with its options (or scale) and items: all of
    them, or only those before question ``before`` (a show_if reads earlier questions)."""
    found = []
    for _section, question in document_questions(document):
        code = str(question.get("code"))
        if code == before:
            break
        kind = question.get("type")
        if kind == "text":
            continue
        choices = question.get("scale" if kind == "matrix" else "options") or []
        found.append(
            {
                "code": code,
                "type": kind,
                "label": label_text(question.get("label"), language)[:60],
                "options": [
                    {"code": str(o.get("code")), "label": label_text(o.get("label"), language)}
                    for o in choices
                ],
                "items": [
                    {"code": str(i.get("code")), "label": label_text(i.get("label"), language)}
                    for i in question.get("items") or []
                ],
            }
        )
    return found


@require_GET
@login_guard
def studio_logic_check(request: HttpRequest, slug: str) -> JsonResponse:
    questionnaire = studio_questionnaire(request, slug, edit=False)
    document = copy.deepcopy(definition_draft_get(questionnaire=questionnaire).document)
    source = request.GET.get("e", "")[:MAX_EXPRESSION].strip()
    code = request.GET.get("question", "")
    if not source:
        return JsonResponse({"ok": True, "problems": []})
    if code:
        if code not in question_codes(document):
            return JsonResponse({"ok": False, "problems": [f"{code}?"]}, status=404)
        question_find(document, code)[1]["show_if"] = source
        where = f"{question_path(document, code)}.show_if"
    else:
        document.setdefault("segments", []).append(
            {"code": "__designer__", "label": "-", "rule": source}
        )
        where = f"segments[{len(document['segments']) - 1}].rule"
    problems = [p.message for p in definition_problems(document) if p.path == where]
    return JsonResponse({"ok": not problems, "problems": problems})
