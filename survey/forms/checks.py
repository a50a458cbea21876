"""What the admin's delete pages and inline formsets share: what deleting questions would
break (by the rulebook), and which inline rows an edit keeps."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

from survey.interchange_checks import definition_problems
from survey.models import Question, Questionnaire
from survey.services.questionnaires import questionnaire_export


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
