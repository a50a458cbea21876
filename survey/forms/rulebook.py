"""The admin's question and option pages ask the one rulebook, as every other path does.

A page builds the *candidate document*: the questionnaire as ``questionnaire_export`` writes
it, with this page's edit applied (the question as edited, with its options and items as the
inline forms hold them). ``survey.interchange_checks.definition_problems`` judges it, and each
problem is shown beside the field it came from: ``sections[2].questions[4].options[1].score``
lands on the second option's score box, ``….show_if`` on the show_if box, a problem elsewhere
(a segment rule that reads an option being removed) at the top of the page, with its place.
So the same bad edit gives the same code and message here as through a file or the API.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from survey.forms.checks import kept_forms
from survey.interchange_checks import definition_problems
from survey.interchange_problems import Problem
from survey.models import Item, Option, Question, Section
from survey.services.questionnaires import export_code, plain_number, questionnaire_export

# questionnaire/v1 key → the admin form's field
QUESTION_FIELDS = {
    "code": "code",
    "type": "type",
    "label": "label",
    "required": "required",
    "show_if": "show_if",
    "min_choices": "min_choices",
    "max_choices": "max_choices",
    "min": "min_value",
    "max": "max_value",
    "integer": "integer",
    "max_length": "max_length",
    "straightlining_check": "straightlining_check",
    "attention_check": "attention_expect",
}
OPTION_FIELDS = {
    "code": "code",
    "label": "label",
    "score": "score",
    "other": "is_other",
    "exclusive": "exclusive",
}
ITEM_FIELDS = {"code": "code", "label": "label"}
_ENTRY = re.compile(r"(options|scale|items)(?:\[(\d+)\](?:\.([a-z_]+))?)?(?=\.|$)")


@dataclass
class Placed:
    """Where the rulebook's problems went: beside fields, or at the top (``elsewhere``)."""

    beside: list[tuple[Any, str | None, str]] = field(default_factory=list)  # (form, field, msg)
    on_options: list[str] = field(default_factory=list)
    on_items: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.beside or self.on_options or self.on_items or self.elsewhere)


def option_entry(data: dict[str, Any]) -> dict[str, Any]:
    """An option or scale point as questionnaire/v1 writes it, from a form's cleaned data."""
    entry: dict[str, Any] = {
        "code": export_code(str(data.get("code") or "")),
        "label": data["label"],
    }
    if data.get("score") is not None:
        entry["score"] = plain_number(Decimal(data["score"]))
    if data.get("is_other"):
        entry["other"] = True
    if data.get("exclusive"):
        entry["exclusive"] = True
    if data.get("hidden"):
        entry["hidden"] = True
    return entry


def item_entry(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": export_code(str(data.get("code") or "")), "label": data["label"]}


def question_entry(
    question: Question, options: Sequence[dict] | None, items: Sequence[dict] | None
) -> dict[str, Any]:
    """The question as edited, with every field that is set (also those its type does not
    take, so that the rulebook can say so), and its options and items."""
    entry: dict[str, Any] = {"code": question.code, "type": question.type, "label": question.label}
    if not question.required:
        entry["required"] = False
    if question.hidden:
        entry["hidden"] = True
    if question.show_if and question.show_if.strip():
        entry["show_if"] = question.show_if
    key = "scale" if question.type == Question.Type.MATRIX else "options"
    if options or question.type in Question.CHOICE_TYPES:
        entry[key] = list(options or [])
    if items or question.type in Question.ITEM_TYPES:
        entry["items"] = list(items or [])
    if question.attention_expect:
        entry["attention_check"] = {"expect": export_code(question.attention_expect)}
    for key, attribute in (
        ("min_choices", "min_choices"),
        ("max_choices", "max_choices"),
        ("min", "min_value"),
        ("max", "max_value"),
        ("max_length", "max_length"),
    ):
        value = getattr(question, attribute)
        if value is not None:
            entry[key] = plain_number(value) if isinstance(value, Decimal) else value
    if not question.integer:
        entry["integer"] = False
    if question.straightlining_check:
        entry["straightlining_check"] = True
    for key, value in (question.extra or {}).items():
        entry.setdefault(key, value)
    return entry


def candidate_document(
    question: Question, options: Sequence[dict] | None, items: Sequence[dict] | None
) -> tuple[dict, str]:
    """The questionnaire's document with ``question`` (saved or new) as edited; and the path of
    the question in it (``sections[i].questions[j]``)."""
    questionnaire = question.questionnaire
    document = questionnaire_export(questionnaire=questionnaire)
    entry = question_entry(question, options, items)
    stored, rows = None, {}
    for code, position, pk in Question.objects.filter(questionnaire=questionnaire).values_list(
        "code", "position", "pk"
    ):
        if pk == question.pk:
            stored = code  # its code before this edit
        else:
            rows[code] = (position, pk)
    here = (question.position or 0, question.pk or float("inf"))
    section_code = question.section.code if question.section_id else None
    for section in document["sections"]:
        kept = [q for q in section["questions"] if stored is None or q["code"] != stored]
        if section["code"] == section_code:
            before = [q for q in kept if rows.get(q["code"], (0, 0)) <= here]
            after = [q for q in kept if rows.get(q["code"], (0, 0)) > here]
            kept = [*before, entry, *after]
        section["questions"] = kept
    # A section the admin has emptied while rearranging is its own business until publishing
    # (which judges the whole document); it is not this edit's problem.
    document["sections"] = [s for s in document["sections"] if s["questions"]]
    for section_index, section in enumerate(document["sections"]):
        for question_index, candidate in enumerate(section["questions"]):
            if candidate is entry:
                return document, f"sections[{section_index}].questions[{question_index}]"
    raise ValueError(f"question {question.code} has no section in {questionnaire.slug}")


def place_problems(
    problems: Sequence[Problem],
    question_path: str,
    *,
    option_forms: Sequence[forms.Form] = (),
    item_forms: Sequence[forms.Form] = (),
    question_form: forms.Form | None = None,
) -> Placed:
    """Each problem beside the form field it came from, else with its place at the top."""
    placed = Placed()
    prefix = f"{question_path}."
    for problem in problems:
        if not problem.path.startswith(prefix):
            placed.elsewhere.append(
                _("%(place)s: %(message)s") % {"place": problem.place, "message": problem.message}
            )
            continue
        rest = problem.path[len(prefix) :]
        entry = _ENTRY.match(rest)
        if entry is not None:
            kind, index, key = entry.groups()
            targets = item_forms if kind == "items" else option_forms
            names = ITEM_FIELDS if kind == "items" else OPTION_FIELDS
            if index is not None and int(index) < len(targets):
                placed.beside.append((targets[int(index)], names.get(key or ""), problem.message))
            elif kind == "items":
                placed.on_items.append(problem.message)
            else:
                placed.on_options.append(problem.message)
            continue
        key = rest.split(".", 1)[0].split("[", 1)[0]
        if key in QUESTION_FIELDS:
            placed.beside.append((question_form, QUESTION_FIELDS[key], problem.message))
        else:  # a key the page has no field for: name it
            placed.beside.append((question_form, None, f"{key}: {problem.message}"))
    return placed


def ordered(forms_: Sequence[forms.Form]) -> list[forms.Form]:
    """Inline forms in the order the rows will be asked: position, then id, then as listed."""
    indexed = list(enumerate(forms_))
    indexed.sort(
        key=lambda pair: (
            pair[1].cleaned_data.get("position") or 0,
            pair[1].instance.pk or float("inf"),
            pair[0],
        )
    )
    return [form for _index, form in indexed]


def question_problems(
    question: Question,
    option_forms: Sequence[forms.Form] | None,
    item_forms: Sequence[forms.Form] | None,
    question_form: forms.Form | None = None,
) -> Placed:
    """The rulebook's verdict on the question page's edit, placed on its forms.

    ``option_forms``/``item_forms`` are the kept inline forms (None: as stored).
    """
    if option_forms is None:
        stored_options = [option_row(o) for o in question.options.all()] if question.pk else []
        option_list, option_targets = stored_options, []
    else:
        option_targets = ordered(option_forms)
        option_list = [option_entry(_with_stored(f)) for f in option_targets]
    if item_forms is None:
        item_list = [item_row(i) for i in question.items.all()] if question.pk else []
        item_targets: list[forms.Form] = []
    else:
        item_targets = ordered(item_forms)
        item_list = [item_entry(_with_stored(f)) for f in item_targets]
    document, path = candidate_document(question, option_list, item_list)
    return place_problems(
        definition_problems(document),
        path,
        option_forms=option_targets,
        item_forms=item_targets,
        question_form=question_form,
    )


_ROW_FIELDS = ("code", "label", "score", "is_other", "exclusive", "hidden")


def stored_fields(row: Option | Item) -> dict[str, Any]:
    """An option's or item's stored values, in the shape its form's cleaned data has."""
    return {name: getattr(row, name) for name in _ROW_FIELDS if hasattr(row, name)}


def _with_stored(form: forms.Form) -> dict[str, Any]:
    """A row's cleaned data, over its stored values for the fields the page shows read-only
    (a locked questionnaire's codes and flags)."""
    return {**stored_fields(form.instance), **form.cleaned_data}


def option_row(option: Option) -> dict[str, Any]:
    return option_entry(stored_fields(option))


def item_row(item: Item) -> dict[str, Any]:
    return item_entry(stored_fields(item))


def breaks(message: str) -> str:
    """A problem an edit causes elsewhere (``place: message``), as the admin shows it."""
    return _("This change would break %(place)s") % {"place": message}


# --- the questionnaire page -------------------------------------------------------------------

TOP_FIELDS = {
    "slug": "slug",
    "languages": "languages",
    "title": "title",
    "intro": "intro",
    "settings.identity_retention_days": "identity_retention_days",
    "settings": "one_response_per",
    "analysis.banner": "banner",
    "analysis.significance": "significance",
    "analysis.correction": "correction",
}
SECTION_FIELDS = {"code": "code", "title": "title"}
SCORE_FIELDS = {"code": "code", "of": "question", "label": "label"}
SEGMENT_FIELDS = {"code": "code", "label": "label", "rule": "rule"}
_LISTED = re.compile(r"(sections|scores|segments)\[(\d+)\](?:\.([a-z_]+))?")
_VALIDITY = re.compile(r"validity\.([a-z_]+)(?:\.([a-z_]+))?")


def questionnaire_problems(
    questionnaire: Any,
    form: forms.Form,
    sections: forms.BaseInlineFormSet | None,
    scores: forms.BaseInlineFormSet | None,
    segments: forms.BaseInlineFormSet | None,
    validity: forms.BaseInlineFormSet | None,
) -> tuple[Placed, list[tuple[Any, str]]]:
    """The rulebook's verdict on the questionnaire page: the document as stored, with the
    page's settings, sections, scores, segments and validity rules as edited.

    Returns the placed problems and the messages for whole formsets, as (formset, message).
    """
    # The page's own fields are set below from the edited instance; the export gives the rest.
    document = (
        questionnaire_export(questionnaire=questionnaire)
        if questionnaire.pk
        else {"format": "questionnaire/v1", "sections": []}
    )
    document["slug"] = questionnaire.slug
    document["languages"] = list(questionnaire.languages or [])
    document["title"] = questionnaire.title
    if questionnaire.intro:
        document["intro"] = questionnaire.intro
    else:
        document.pop("intro", None)
    document["settings"] = {"one_response_per": questionnaire.one_response_per}
    if questionnaire.identity_retention_days is not None:
        document["settings"]["identity_retention_days"] = questionnaire.identity_retention_days
    analysis: dict[str, Any] = {}
    if questionnaire.banner:
        analysis["banner"] = list(questionnaire.banner)
    if questionnaire.significance is not None:
        analysis["significance"] = plain_number(Decimal(questionnaire.significance))
    if questionnaire.correction and questionnaire.correction != "holm":
        analysis["correction"] = questionnaire.correction
    document["analysis"] = analysis

    section_forms: list[forms.Form] = []
    if sections is not None:
        by_code = {s["code"]: s["questions"] for s in document["sections"]}
        stored = dict(
            Section.objects.filter(questionnaire_id=questionnaire.pk).values_list("pk", "code")
        )
        entries = []
        for section_form in ordered(kept_forms(sections)):
            data = section_form.cleaned_data
            code = data.get("code") or section_form.instance.code
            questions = by_code.get(stored.get(section_form.instance.pk), [])
            if not questions:
                continue  # an empty section is layout in progress, judged when publishing
            entry: dict[str, Any] = {"code": code}
            if data.get("title"):
                entry["title"] = data["title"]
            entry["questions"] = questions
            entries.append(entry)
            section_forms.append(section_form)
        document["sections"] = entries
    score_forms = ordered(kept_forms(scores)) if scores is not None else []
    if scores is not None:
        document["scores"] = [
            {
                "code": f.cleaned_data.get("code"),
                "of": getattr(f.cleaned_data.get("question"), "code", None),
                "label": f.cleaned_data.get("label"),
            }
            for f in score_forms
        ]
        if not document["scores"]:
            del document["scores"]
    segment_forms = ordered(kept_forms(segments)) if segments is not None else []
    if segments is not None:
        document["segments"] = [
            {
                "code": f.cleaned_data.get("code"),
                "label": f.cleaned_data.get("label"),
                "rule": f.cleaned_data.get("rule") or "",
            }
            for f in segment_forms
        ]
        if not document["segments"]:
            del document["segments"]
    validity_forms: dict[str, forms.Form] = {}
    if validity is not None:
        rules = {}
        for f in kept_forms(validity):
            kind = f.cleaned_data.get("kind")
            rules[kind] = {
                "action": f.cleaned_data.get("action"),
                **(f.cleaned_data.get("params") or {}),
            }
            validity_forms[kind] = f
        if rules:
            document["validity"] = rules
        else:
            document.pop("validity", None)

    placed = Placed()
    whole: list[tuple[Any, str]] = []
    elsewhere: dict[tuple[str, str], list[str]] = {}
    lists = {"sections": section_forms, "scores": score_forms, "segments": segment_forms}
    list_fields = {"sections": SECTION_FIELDS, "scores": SCORE_FIELDS, "segments": SEGMENT_FIELDS}
    formsets = {"sections": sections, "scores": scores, "segments": segments}
    for problem in definition_problems(document):
        path = problem.path
        if path == "sections" and not document["sections"]:
            continue  # a questionnaire with no questions yet
        listed = _LISTED.match(path)
        if listed and listed.group(3) != "questions":
            kind, index, key = listed.groups()
            targets = lists[kind]
            if int(index) < len(targets):
                placed.beside.append(
                    (targets[int(index)], list_fields[kind].get(key or ""), problem.message)
                )
            else:
                whole.append((formsets[kind], problem.message))
            continue
        if path in ("scores", "segments", "sections") and formsets.get(path) is not None:
            whole.append((formsets[path], problem.message))
            continue
        rule = _VALIDITY.match(path)
        if rule and rule.group(1) in validity_forms:
            field = "action" if rule.group(2) == "action" else "params"
            if rule.group(2) is None and problem.code == "rule_never_applies":
                field = "kind"
            placed.beside.append((validity_forms[rule.group(1)], field, problem.message))
            continue
        top = next(
            (f for k, f in TOP_FIELDS.items() if path == k or path.startswith((f"{k}.", f"{k}["))),
            None,
        )
        if top is not None:
            placed.beside.append((form, top, problem.message))
            continue
        elsewhere.setdefault((problem.code, problem.message), []).append(problem.place)
    placed.elsewhere = [_elsewhere(places, message) for (_c, message), places in elsewhere.items()]
    return placed, whole


def _elsewhere(places: list[str], message: str) -> str:
    """One line for a problem found in many places (a language removed from every label)."""
    text = _("%(place)s: %(message)s") % {"place": places[0], "message": message}
    if len(places) > 1:
        text += " " + _("(and %(count)d more places)") % {"count": len(places) - 1}
    return text
