"""Questionnaire definitions: import and export, publish and close, and the structural lock.

Promises:
- ``questionnaire_import`` validates the whole definition before writing anything and writes
  it in one transaction: a refused import leaves the database as it was.
- Rows are matched by code (sections, questions, options, items, scores, segments; validity
  rules by kind), so re-importing keeps the ids of everything whose code is unchanged.
- Once a questionnaire has responses its structure is locked: questions, options, scale
  points and items cannot be added, removed or recoded, a question's type cannot change and
  an option cannot stop or start being ``other`` or ``exclusive`` (answers point at these rows
  and store ``other`` text on them). Labels, scores, ``required``, ``show_if``, ranges,
  segments, validity rules, analysis settings and the section layout (sections added, removed,
  renamed, reordered; questions moved between sections or reordered) can still change.
- ``questionnaire_export(questionnaire_import(d))`` equals ``d`` up to defaults the format
  allows to omit (``required: true``, ``integer: true``, ``other``/``exclusive``/
  ``straightlining_check`` false); ``settings.one_response_per`` and
  ``analysis.significance`` are always written.
- ``definition_version`` is raised whenever an import changes something the analysis reads
  (everything but labels, titles and the intro).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, ProtectedError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from survey.interchange import DefinitionError, validate_definition
from survey.interchange_problems import (
    FORMAT,
    KNOWN_QUESTION_KEYS,
    TOP_KEYS,
    VALIDITY_PARAMS,
    as_decimal,
    code_of,
)
from survey.models import (
    Answer,
    DerivedScore,
    Item,
    Option,
    Question,
    Questionnaire,
    Section,
    Segment,
    ValidityRule,
)
from survey.services.brand import brand_export, brand_store
from survey.services.definitions import Change, definition_change, definition_diff
from survey.services.notify import definition_changed_signal
from survey.services.quotas import quotas_export, quotas_store

_INT_CODE = re.compile(r"0|-?[1-9][0-9]*")
# Export keys after code/type/label/required/show_if, in the order of the format page.
_EXPORT_TYPE_KEYS = {
    "single": ("options", "attention_check"),
    "multiple": ("min_choices", "max_choices", "options"),
    "matrix": ("straightlining_check", "scale", "items"),
    "number": ("min", "max", "integer"),
    "number_grid": ("min", "max", "integer", "items"),
    "text": ("max_length",),
}
# What an analysis run does not read: changing only these keeps definition_version.


class QuestionnaireStateError(ValueError):
    """A publish or close that the questionnaire's status does not allow."""


# --- import -----------------------------------------------------------------------------------


def questionnaire_import(*, definition: dict, replace: bool = False) -> Questionnaire:
    """Create a questionnaire from a definition, or with ``replace`` update the one with its slug.

    Raises ``DefinitionError`` (nothing written) when the definition is invalid, when the slug
    exists and ``replace`` is false, or when the questionnaire has responses and the new
    definition changes its structure (each change is listed, e.g. ``question Q5: option 3
    removed``). A replace keeps the status and the ids of every row whose code is unchanged,
    and raises ``definition_version`` when something the analysis reads changed.
    """
    problems = validate_definition(definition)
    if problems:
        raise DefinitionError(problems)
    slug = definition["slug"]
    with transaction.atomic():
        questionnaire = Questionnaire.objects.select_for_update().filter(slug=slug).first()
        if questionnaire is None:
            questionnaire = _create(slug)
            _write(questionnaire, definition)
            return questionnaire
        if not replace:
            raise _slug_taken(slug)
        if questionnaire.has_responses:
            _refuse_structural_changes(questionnaire, definition)
        with definition_change(questionnaire=questionnaire):
            _write(questionnaire, definition)
    return questionnaire


def _create(slug: str) -> Questionnaire:
    try:
        with transaction.atomic():
            return Questionnaire.objects.create(slug=slug)
    except IntegrityError as exc:  # another import of the same slug committed first
        raise _slug_taken(slug) from exc


def _slug_taken(slug: str) -> DefinitionError:
    message = _("a questionnaire %(slug)s already exists (import with replace to update it)")
    return DefinitionError([f"slug: {message % {'slug': slug}}"])


def _refuse_structural_changes(questionnaire: Questionnaire, definition: dict) -> None:
    changes = questionnaire_structural_changes(questionnaire=questionnaire, definition=definition)
    if changes:
        reason = questionnaire_structure_lock_reason(questionnaire=questionnaire)
        raise DefinitionError([f"slug: {reason}", *changes])


def _write(questionnaire: Questionnaire, definition: dict) -> None:
    try:
        _write_rows(questionnaire, definition)
    except ProtectedError as exc:  # answers arrived for a row this import removes
        message = _("responses arrived during the import; nothing was changed, please try again")
        raise DefinitionError([f"slug: {message}"]) from exc


def _write_rows(questionnaire: Questionnaire, definition: dict) -> None:
    """Make the rows say what ``definition`` (valid) says, matching existing rows by code."""
    sections = _sync_sections(questionnaire, definition["sections"])
    questions, stale_questions = _sync_questions(questionnaire, definition["sections"], sections)
    _sync_scores(questionnaire, definition.get("scores", []), questions)
    # Only now that no score points at them (DerivedScore.question is PROTECT).
    Question.objects.filter(pk__in=[q.pk for q in stale_questions]).delete()
    Section.objects.filter(questionnaire=questionnaire).exclude(
        pk__in=[s.pk for s in sections.values()]
    ).delete()
    _sync_segments(questionnaire, definition.get("segments", []))
    quotas_store(questionnaire=questionnaire, quotas=definition.get("quotas"))
    _sync_validity(questionnaire, definition.get("validity", {}))
    _set_header(questionnaire, definition)
    questionnaire.save()  # last, so updated_at (the structure cache key) moves after all rows


def _set_header(questionnaire: Questionnaire, definition: dict) -> None:
    settings = definition.get("settings", {})
    analysis = definition.get("analysis", {})
    questionnaire.languages = definition["languages"]
    questionnaire.title = definition["title"]
    questionnaire.intro = definition.get("intro", "")
    questionnaire.one_response_per = settings.get(
        "one_response_per", Questionnaire.OneResponsePer.NONE
    )
    questionnaire.identity_retention_days = settings.get("identity_retention_days")
    brand_store(questionnaire=questionnaire, brand=definition.get("brand"))
    questionnaire.weights = definition.get("weights", {})
    questionnaire.banner = analysis.get("banner", [])
    questionnaire.significance = as_decimal(analysis.get("significance", 0.05))
    questionnaire.correction = analysis.get("correction", Questionnaire.Correction.HOLM)
    questionnaire.extra = {k: v for k, v in definition.items() if k not in TOP_KEYS}


def _sync(
    rows: Iterable[models.Model],
    wanted: dict[str, dict[str, Any]],
    make: Callable[[str, dict[str, Any]], models.Model],
    key: str = "code",
) -> tuple[dict[str, models.Model], list[models.Model]]:
    """Update the rows whose ``key`` is wanted (changed fields only), create the missing ones.

    Returns the rows by key in ``wanted``'s order, and the existing rows nobody wants any more
    (the caller deletes them when it is safe to).
    """
    existing = {getattr(row, key): row for row in rows}
    result: dict[str, models.Model] = {}
    new = []
    for code, fields in wanted.items():
        row = existing.pop(code, None)
        if row is None:
            row = make(code, fields)
            new.append(row)
        else:
            changed = [name for name, value in fields.items() if getattr(row, name) != value]
            for name in changed:
                setattr(row, name, fields[name])
            if changed:
                row.save(update_fields=changed)
        result[code] = row
    if new:
        type(new[0]).objects.bulk_create(new)
    return result, list(existing.values())


def _sync_sections(questionnaire: Questionnaire, sections: list[dict]) -> dict[str, Section]:
    wanted = {
        s["code"]: {"title": s.get("title", ""), "position": index}
        for index, s in enumerate(sections)
    }
    rows, _stale = _sync(
        questionnaire.sections.all(),
        wanted,
        lambda code, fields: Section(questionnaire=questionnaire, code=code, **fields),
    )
    return rows  # type: ignore[return-value]


def _question_fields(question: dict, section: Section, position: int) -> dict[str, Any]:
    check = question.get("attention_check")
    return {
        "section_id": section.pk,
        "type": question["type"],
        "label": question["label"],
        "required": question.get("required", True),
        "hidden": question.get("hidden", False),
        "show_if": question.get("show_if", ""),
        "position": position,
        "min_choices": question.get("min_choices"),
        "max_choices": question.get("max_choices"),
        "min_value": _decimal_or_none(question.get("min")),
        "max_value": _decimal_or_none(question.get("max")),
        "integer": question.get("integer", True),
        "max_length": question.get("max_length"),
        "straightlining_check": question.get("straightlining_check", False),
        "attention_expect": code_of(check["expect"]) if check else "",
        "extra": {k: v for k, v in question.items() if k not in KNOWN_QUESTION_KEYS},
    }


def _decimal_or_none(value: int | float | None) -> Decimal | None:
    return None if value is None else as_decimal(value)


def _sync_questions(
    questionnaire: Questionnaire, sections: list[dict], section_rows: dict[str, Section]
) -> tuple[dict[str, Question], list[Question]]:
    wanted: dict[str, dict[str, Any]] = {}
    specs: dict[str, dict] = {}
    for section in sections:
        for position, question in enumerate(section["questions"]):
            fields = _question_fields(question, section_rows[section["code"]], position)
            wanted[question["code"]] = fields
            specs[question["code"]] = question
    rows, stale = _sync(
        questionnaire.questions.all(),
        wanted,
        lambda code, fields: Question(questionnaire=questionnaire, code=code, **fields),
    )
    _sync_choices(rows, specs)  # type: ignore[arg-type]
    return rows, stale  # type: ignore[return-value]


def _sync_choices(rows: dict[str, Question], specs: dict[str, dict]) -> None:
    """Options (or the matrix scale) and items of every question, in one query each to read."""
    options: dict[int, list[Option]] = defaultdict(list)
    for option in Option.objects.filter(question__in=list(rows.values())):
        options[option.question_id].append(option)
    items: dict[int, list[Item]] = defaultdict(list)
    for item in Item.objects.filter(question__in=list(rows.values())):
        items[item.question_id].append(item)
    stale: list[models.Model] = []
    for code, question in rows.items():
        spec = specs[code]
        choices = spec.get("scale" if spec["type"] == "matrix" else "options", [])
        wanted = {
            code_of(o["code"]): {
                "label": o["label"],
                "score": _decimal_or_none(o.get("score")),
                "is_other": o.get("other", False),
                "exclusive": o.get("exclusive", False),
                "hidden": o.get("hidden", False),
                "position": index,
            }
            for index, o in enumerate(choices)
        }
        stale += _sync(options[question.pk], wanted, _maker(Option, question))[1]
        wanted = {
            code_of(i["code"]): {"label": i["label"], "position": index}
            for index, i in enumerate(spec.get("items", []))
        }
        stale += _sync(items[question.pk], wanted, _maker(Item, question))[1]
    for row in stale:
        row.delete()


def _maker(model: type[models.Model], question: Question) -> Callable[..., models.Model]:
    return lambda code, fields: model(question=question, code=code, **fields)


def _sync_scores(
    questionnaire: Questionnaire, scores: list[dict], questions: dict[str, Question]
) -> None:
    wanted = {
        s["code"]: {"question_id": questions[s["of"]].pk, "label": s["label"], "position": index}
        for index, s in enumerate(scores)
    }
    _rows, stale = _sync(
        questionnaire.scores.all(),
        wanted,
        lambda code, fields: DerivedScore(questionnaire=questionnaire, code=code, **fields),
    )
    DerivedScore.objects.filter(pk__in=[row.pk for row in stale]).delete()


def _sync_segments(questionnaire: Questionnaire, segments: list[dict]) -> None:
    wanted = {
        s["code"]: {"label": s["label"], "rule": s["rule"], "position": index}
        for index, s in enumerate(segments)
    }
    _rows, stale = _sync(
        questionnaire.segments.all(),
        wanted,
        lambda code, fields: Segment(questionnaire=questionnaire, code=code, **fields),
    )
    Segment.objects.filter(pk__in=[row.pk for row in stale]).delete()


def _sync_validity(questionnaire: Questionnaire, validity: dict[str, dict]) -> None:
    wanted = {
        kind: {
            "action": rule["action"],
            "params": {name: rule[name] for name in VALIDITY_PARAMS[kind] if name in rule},
        }
        for kind, rule in validity.items()
    }
    _rows, stale = _sync(
        questionnaire.validity_rules.all(),
        wanted,
        lambda kind, fields: ValidityRule(questionnaire=questionnaire, kind=kind, **fields),
        key="kind",
    )
    ValidityRule.objects.filter(pk__in=[row.pk for row in stale]).delete()


# --- the structural lock ----------------------------------------------------------------------


def questionnaire_structure_lock_reason(*, questionnaire: Questionnaire) -> str | None:
    """None while structural edits are allowed (no responses); else a sentence saying why not."""
    count = questionnaire.responses.count()
    if not count:
        return None
    message = ngettext(
        "%(slug)s has %(count)s response: questions, options and items can no longer be "
        "added, removed or recoded. Labels and scores can still change.",
        "%(slug)s has %(count)s responses: questions, options and items can no longer be "
        "added, removed or recoded. Labels and scores can still change.",
        count,
    )
    return message % {"slug": questionnaire.slug, "count": f"{count:,}"}


def questionnaire_structural_changes(
    *, questionnaire: Questionnaire, definition: dict
) -> list[str]:
    """Each structural difference between the stored questionnaire and a (valid) definition.

    One sentence per change, e.g. ``question Q5: option 3 removed``; [] when the structure is
    the same. Section layout and question order are not structure (``definition_diff``).
    """
    stored = questionnaire_export(questionnaire=questionnaire)
    changes = [c for c in definition_diff(stored, definition) if c.structural]
    touched = answers_touched(questionnaire, changes)
    return [change_sentence(change, touched.get(id(change), 0)) for change in changes]


def answers_touched(questionnaire: Questionnaire, changes: list[Change]) -> dict[int, int]:
    """id(change) → stored answers of the question or option a structural change removes or
    retypes: two grouped queries over the affected questions only."""
    structural = [c for c in changes if c.structural and c.change in ("removed", "changed")]
    codes = {c.question for c in structural}
    if not codes:
        return {}
    answers = Answer.objects.filter(question__questionnaire=questionnaire, question__code__in=codes)
    per_question = dict(
        answers.values_list("question__code").annotate(n=Count("response_id", distinct=True))
    )
    per_option = {
        (question, option): n
        for question, option, n in answers.filter(option__isnull=False)
        .values_list("question__code", "option__code")
        .annotate(n=Count("id"))
    }
    touched = {}
    for change in structural:
        if change.what in ("question", "item"):  # every answer row of the question
            touched[id(change)] = per_question.get(change.question, 0)
        else:
            touched[id(change)] = per_option.get((change.question, code_of(change.code)), 0)
    return touched


def change_sentence(change: Change, answers: int) -> str:
    """A structural change in words, with the answers it would orphan and, for a removal,
    the way out: ``question D1: option 2 removed (214 answers); to keep them, mark it hidden``."""
    sentence = change.sentence()
    if not answers:
        return sentence
    sentence += ngettext(" (%(count)s answer)", " (%(count)s answers)", answers) % {
        "count": f"{answers:,}"
    }
    if change.change == "removed" and change.what in ("question", "option", "scale_point"):
        sentence += _("; to keep them, mark it hidden (hidden: true) instead of removing it")
    return sentence


def questionnaire_definition_changed(*, questionnaire: Questionnaire) -> None:
    """Record that something the analysis reads changed (raises ``definition_version``)."""
    questionnaire.bump_definition_version()
    transaction.on_commit(partial(definition_changed_signal, questionnaire.pk))


# --- publish and close ------------------------------------------------------------------------


def questionnaire_publish(*, questionnaire: Questionnaire) -> Questionnaire:
    """Open a draft or closed questionnaire for responses (an open one stays as it is).

    The stored definition must still be valid (admin edits can break a ``show_if``): if not,
    ``DefinitionError`` lists every problem and nothing changes.
    """
    problems = validate_definition(questionnaire_export(questionnaire=questionnaire))
    if problems:
        raise DefinitionError(problems)
    questionnaire.publish()
    return questionnaire


def questionnaire_close(*, questionnaire: Questionnaire) -> Questionnaire:
    """Stop an open questionnaire taking responses; ``QuestionnaireStateError`` otherwise."""
    if questionnaire.status != Questionnaire.Status.OPEN:
        message = _("%(slug)s is %(status)s: only an open questionnaire can be closed.")
        status = questionnaire.get_status_display()
        raise QuestionnaireStateError(message % {"slug": questionnaire.slug, "status": status})
    questionnaire.close()
    return questionnaire


# --- export -----------------------------------------------------------------------------------


def questionnaire_export(*, questionnaire: Questionnaire, pictures: bool = True) -> dict:
    """The questionnaire as questionnaire/v1 data, keys in the format page's order.

    Integer-like codes come back as ints, decimals as ints when whole else floats, labels in
    the shape they were stored in; defaults the format allows to omit are omitted. A fixed
    number of queries, whatever the size. ``pictures`` false names the brand's pictures by
    their hash instead of reading them (for the digest, which leaves the brand out).
    """
    data: dict[str, Any] = {
        "format": FORMAT,
        "slug": questionnaire.slug,
        "languages": list(questionnaire.languages),
        "title": questionnaire.title,
    }
    if questionnaire.intro:
        data["intro"] = questionnaire.intro
    data["settings"] = {"one_response_per": questionnaire.one_response_per}
    if questionnaire.identity_retention_days is not None:
        data["settings"]["identity_retention_days"] = questionnaire.identity_retention_days
    if (brand := brand_export(questionnaire=questionnaire, pictures=pictures)) is not None:
        data["brand"] = brand
    data["sections"] = _export_sections(questionnaire)
    scores = questionnaire.scores.select_related("question").order_by("position", "id")
    if scores:
        data["scores"] = [{"code": s.code, "of": s.question.code, "label": s.label} for s in scores]
    segments = questionnaire.segments.order_by("position", "id")
    if segments:
        data["segments"] = [{"code": s.code, "label": s.label, "rule": s.rule} for s in segments]
    if (quotas := quotas_export(questionnaire=questionnaire)) is not None:
        data["quotas"] = quotas
    if questionnaire.weights:
        data["weights"] = questionnaire.weights
    rules = {rule.kind: rule for rule in questionnaire.validity_rules.all()}
    if rules:
        data["validity"] = {
            kind: {"action": rules[kind].action, **rules[kind].params}
            for kind in VALIDITY_PARAMS
            if kind in rules
        }
    analysis: dict[str, Any] = {}
    if questionnaire.banner:
        analysis["banner"] = list(questionnaire.banner)
    analysis["significance"] = plain_number(Decimal(questionnaire.significance))
    if questionnaire.correction != Questionnaire.Correction.HOLM:
        analysis["correction"] = questionnaire.correction  # the default is left unwritten
    data["analysis"] = analysis
    for key, value in questionnaire.extra.items():
        data.setdefault(key, value)  # an extra key never hides a modelled one
    return data


def _export_sections(questionnaire: Questionnaire) -> list[dict]:
    questions: dict[int, list[dict]] = defaultdict(list)
    rows = questionnaire.questions.prefetch_related("options", "items").order_by("position", "id")
    for question in rows:
        questions[question.section_id].append(_export_question(question))
    sections = []
    for section in questionnaire.sections.order_by("position", "id"):
        data: dict[str, Any] = {"code": section.code}
        if section.title:
            data["title"] = section.title
        data["questions"] = questions[section.pk]
        sections.append(data)
    return sections


def _export_question(question: Question) -> dict:
    data: dict[str, Any] = {"code": question.code, "type": question.type, "label": question.label}
    if not question.required:
        data["required"] = False
    if question.hidden:
        data["hidden"] = True
    if question.show_if:
        data["show_if"] = question.show_if
    values = {
        "options": [_export_option(o) for o in question.options.all()],
        "scale": [_export_option(o) for o in question.options.all()],
        "items": [{"code": export_code(i.code), "label": i.label} for i in question.items.all()],
        "attention_check": (
            {"expect": export_code(question.attention_expect)}
            if question.attention_expect
            else None
        ),
        "min_choices": question.min_choices,
        "max_choices": question.max_choices,
        "min": plain_number(question.min_value),
        "max": plain_number(question.max_value),
        "integer": None if question.integer else False,
        "max_length": question.max_length,
        "straightlining_check": True if question.straightlining_check else None,
    }
    for key in _EXPORT_TYPE_KEYS[question.type]:
        if values[key] is not None:
            data[key] = values[key]
    for key, value in question.extra.items():
        data.setdefault(key, value)
    return data


def _export_option(option: Option) -> dict:
    data: dict[str, Any] = {"code": export_code(option.code), "label": option.label}
    if option.score is not None:
        data["score"] = plain_number(option.score)
    if option.is_other:
        data["other"] = True
    if option.exclusive:
        data["exclusive"] = True
    if option.hidden:
        data["hidden"] = True
    return data


def export_code(code: str) -> int | str:
    """A stored (canonical) code as a definition file writes it: ``"1"`` → ``1``."""
    return int(code) if _INT_CODE.fullmatch(code) else code


def plain_number(value: Decimal | None) -> int | float | None:
    """A stored decimal as a definition file writes it: whole → int, else float."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
