"""What the admin forms check that the database cannot: expressions against the questionnaire,
and the places a code or choice change would break."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django import forms

from survey.expressions import ExpressionError, QuestionSpec, compile_expression
from survey.interchange_checks import (
    SEGMENT_PREFIX,
    definition_problems,
)
from survey.interchange_problems import expression_error_text
from survey.models import (
    Question,
    Questionnaire,
    Segment,
)
from survey.services.questionnaires import questionnaire_export

# --- questions as the expression checker sees them --------------------------------------------


def ordered_questions(questionnaire: Questionnaire | None) -> list[Question]:
    """The questionnaire's questions in asking order, with options and items loaded."""
    if questionnaire is None or questionnaire.pk is None:
        return []
    return list(
        Question.objects.filter(questionnaire=questionnaire)
        .select_related("section")
        .prefetch_related("options", "items")
        .order_by("section__position", "section_id", "position", "id")
    )


def question_spec(question: Question) -> QuestionSpec:
    return QuestionSpec(
        code=question.code,
        type=question.type,
        options=frozenset(o.code for o in question.options.all()),
        items=frozenset(i.code for i in question.items.all()),
    )


def expression_problem(source: str, specs: dict[str, QuestionSpec]) -> str | None:
    """Why ``source`` does not compile against ``specs``, or None when it does."""
    try:
        compile_expression(source, specs)
    except ExpressionError as exc:
        return expression_error_text(exc)
    return None


def referring_places(
    questionnaire: Questionnaire, specs: dict[str, QuestionSpec], *, skip: Collection[int] = ()
) -> list[str]:
    """Places (show_if of questions not in ``skip``, segment rules, banner) that no longer hold
    against ``specs``: what a change to, or the removal of, questions would break."""
    broken = []
    for question in Question.objects.filter(questionnaire=questionnaire).exclude(show_if=""):
        if question.pk not in skip:
            problem = expression_problem(question.show_if, specs)
            if problem:
                broken.append(f"show_if of {question.code}: {problem}")
    for segment in Segment.objects.filter(questionnaire=questionnaire):
        problem = expression_problem(segment.rule, specs)
        if problem:
            broken.append(f"rule of segment {segment.code}: {problem}")
    for entry in questionnaire.banner or []:
        if not str(entry).startswith(SEGMENT_PREFIX) and entry not in specs:
            broken.append(f"banner: {entry}")
    return broken


def places_broken_by_choices(
    question: Question, *, options: set[str] | None = None, items: set[str] | None = None
) -> list[str]:
    """What giving ``question`` (code and type as edited) these options or items would break."""
    questionnaire = question.questionnaire
    specs = {}
    for other in ordered_questions(questionnaire):
        specs[other.code] = question_spec(other)
        if other.pk == question.pk:
            del specs[other.code]
            options = {o.code for o in other.options.all()} if options is None else options
            items = {i.code for i in other.items.all()} if items is None else items
    specs[question.code] = QuestionSpec(
        code=question.code,
        type=question.type,
        options=frozenset(options or ()),
        items=frozenset(items or ()),
    )
    return referring_places(questionnaire, specs, skip={question.pk})


def places_broken_by_removing(questions: Iterable[Question]) -> list[str]:
    """What deleting ``questions`` would leave pointing at nothing, by the rulebook: the
    questionnaire's document without them, and each problem that makes, with its place."""
    removed: dict[int, set[str]] = {}
    questionnaires: dict[int, Questionnaire] = {}
    for question in questions:
        removed.setdefault(question.questionnaire_id, set()).add(question.code)
        questionnaires[question.questionnaire_id] = question.questionnaire
    broken = []
    for questionnaire_id, codes in removed.items():
        questionnaire = questionnaires[questionnaire_id]
        document = questionnaire_export(questionnaire=questionnaire)
        for section in document["sections"]:
            section["questions"] = [q for q in section["questions"] if q["code"] not in codes]
        document["sections"] = [s for s in document["sections"] if s["questions"]]
        broken += [f"{questionnaire.slug}: {problem}" for problem in definition_problems(document)]
    return broken


def kept_forms(formset: forms.BaseInlineFormSet) -> list[forms.Form]:
    """The forms whose rows exist after this save (not deleted, not blank extra forms)."""
    return [
        form
        for form in formset.forms
        if not form.cleaned_data.get("DELETE") and (form.instance.pk or form.has_changed())
    ]
