"""A questionnaire's definition as plain, immutable Python data, loaded once and cached.

The submit path validates every response against it; reading it from the database on every
submission would cost more queries than storing the response. The cache is keyed by the
questionnaire's ``updated_at``, which every change to its definition touches (see
``survey.signals``), so a cached structure is never stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from survey.expressions import QuestionSpec, canonical_code, compile_expression
from survey.models import Question, Questionnaire, Quota, ValidityRule
from wenji.lru import LocalLru


@dataclass(frozen=True)
class OptionDef:
    id: int
    code: str  # canonical
    value: int | str  # as written in definition files and answers (1, not "1")
    score: Decimal | None
    is_other: bool
    exclusive: bool
    hidden: bool = False  # no longer offered: old answers keep it, new ones may not choose it
    # For the form. Labels are a string or {language: text}; kept out of comparisons.
    label: Any = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class ItemDef:
    id: int
    code: str
    label: Any = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class QuestionDef:
    id: int
    code: str
    type: str
    required: bool
    show_if: Any  # a compiled expression, or None
    show_if_source: str
    options: dict[str, OptionDef]  # canonical code → option, in order
    items: dict[str, ItemDef]
    min_choices: int | None
    max_choices: int | None
    min_value: Decimal | None
    max_value: Decimal | None
    integer: bool
    max_length: int
    straightlining_check: bool
    attention_expect: str  # canonical option code, "" when not an attention check
    section_code: str
    label: Any = field(default="", compare=False, repr=False)
    note: Any = field(default="", compare=False, repr=False)  # the author's hint, a label
    hidden: bool = False  # no longer asked: old answers stay, new ones are not taken

    @property
    def has_other(self) -> bool:
        """An "other, please specify" option, offered or not (its answers are data)."""
        return any(option.is_other for option in self.options.values())

    @property
    def offers_other(self) -> bool:
        """An "other, please specify" option the form still offers (not hidden)."""
        return any(option.is_other and not option.hidden for option in self.options.values())


@dataclass(frozen=True)
class QuotaDef:
    """A quota as the submit path needs it: its questions, what a full cell does, and its
    cells' ids by key (``survey.quotas_checks.cell_key``)."""

    code: str
    of: tuple[str, ...]
    when_full: str
    cells: dict[str, int]


@dataclass(frozen=True)
class Structure:
    questionnaire_id: int
    slug: str
    definition_version: int
    one_response_per: str
    questions: dict[str, QuestionDef]  # code → question, in questionnaire order
    validity: dict[str, tuple[str, dict]] = field(default_factory=dict)  # kind → (action, params)
    # Section code → title (a label), in order; for the form.
    section_titles: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    quotas: tuple[QuotaDef, ...] = ()

    def question_specs(self) -> dict[str, QuestionSpec]:
        return {
            q.code: QuestionSpec(
                code=q.code, type=q.type, options=frozenset(q.options), items=frozenset(q.items)
            )
            for q in self.questions.values()
        }


def _option_value(code: str) -> int | str:
    if code.lstrip("-").isdigit() and str(int(code)) == code:
        return int(code)
    return code


def structure_build(questionnaire: Questionnaire) -> Structure:
    """Read the whole definition in a fixed number of queries (not one per question)."""
    questions = list(
        Question.objects.filter(questionnaire=questionnaire)
        .select_related("section")
        .prefetch_related("options", "items")
        .order_by("section__position", "section_id", "position", "id")
    )
    specs = {
        q.code: QuestionSpec(
            code=q.code,
            type=q.type,
            options=frozenset(o.code for o in q.options.all()),
            items=frozenset(i.code for i in q.items.all()),
        )
        for q in questions
    }
    defs: dict[str, QuestionDef] = {}
    for q in questions:
        defs[q.code] = QuestionDef(
            id=q.id,
            code=q.code,
            type=q.type,
            required=q.required,
            show_if=compile_expression(q.show_if, specs) if q.show_if.strip() else None,
            show_if_source=q.show_if,
            options={
                o.code: OptionDef(
                    id=o.id,
                    code=o.code,
                    value=_option_value(o.code),
                    score=o.score,
                    is_other=o.is_other,
                    exclusive=o.exclusive,
                    hidden=o.hidden,
                    label=o.label,
                )
                for o in q.options.all()
            },
            items={i.code: ItemDef(id=i.id, code=i.code, label=i.label) for i in q.items.all()},
            min_choices=q.min_choices,
            max_choices=q.max_choices,
            min_value=q.min_value,
            max_value=q.max_value,
            integer=q.integer,
            max_length=q.effective_max_length,
            straightlining_check=q.straightlining_check,
            attention_expect=q.attention_expect,
            section_code=q.section.code,
            label=q.label,
            note=q.extra.get("hint", "") if isinstance(q.extra, dict) else "",
            hidden=q.hidden,
        )
    validity = {
        rule.kind: (rule.action, dict(rule.params))
        for rule in ValidityRule.objects.filter(questionnaire=questionnaire)
    }
    return Structure(
        questionnaire_id=questionnaire.pk,
        slug=questionnaire.slug,
        definition_version=questionnaire.definition_version,
        one_response_per=questionnaire.one_response_per,
        questions=defs,
        validity=validity,
        section_titles={q.section.code: q.section.title for q in questions},
        quotas=tuple(
            QuotaDef(
                code=quota.code,
                of=tuple(quota.of),
                when_full=quota.when_full,
                cells={cell.key: cell.pk for cell in quota.cells.all()},
            )
            for quota in Quota.objects.filter(questionnaire=questionnaire).prefetch_related("cells")
        ),
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def structure_from_document(document: dict[str, Any], *, questionnaire: Questionnaire) -> Structure:
    """The structure of a *valid* questionnaire/v1 document (a draft not yet published), for
    previewing it with the form's own renderer. Rows it has no ids for get negative ones: it
    must never be used to store answers."""
    specs: dict[str, QuestionSpec] = {}
    entries: list[tuple[dict, str]] = []
    section_titles: dict[str, Any] = {}
    for section in document.get("sections") or []:
        section_titles[str(section["code"])] = section.get("title", "")
        for question in section.get("questions") or []:
            key = "scale" if question["type"] == "matrix" else "options"
            specs[question["code"]] = QuestionSpec(
                code=question["code"],
                type=question["type"],
                options=frozenset(canonical_code(o["code"]) for o in question.get(key) or []),
                items=frozenset(canonical_code(i["code"]) for i in question.get("items") or []),
            )
            entries.append((question, str(section["code"])))
    counter = iter(range(-1, -1_000_000, -1))
    defs: dict[str, QuestionDef] = {}
    for question, section_code in entries:
        key = "scale" if question["type"] == "matrix" else "options"
        show_if = (question.get("show_if") or "").strip()
        attention = question.get("attention_check") or {}
        defs[question["code"]] = QuestionDef(
            id=next(counter),
            code=question["code"],
            type=question["type"],
            required=question.get("required", True),
            show_if=compile_expression(show_if, specs) if show_if else None,
            show_if_source=show_if,
            options={
                canonical_code(o["code"]): OptionDef(
                    id=next(counter),
                    code=canonical_code(o["code"]),
                    value=o["code"],
                    score=_decimal(o.get("score")),
                    is_other=bool(o.get("other")),
                    exclusive=bool(o.get("exclusive")),
                    hidden=bool(o.get("hidden")),
                    label=o.get("label", ""),
                )
                for o in question.get(key) or []
            },
            items={
                canonical_code(i["code"]): ItemDef(
                    id=next(counter), code=canonical_code(i["code"]), label=i.get("label", "")
                )
                for i in question.get("items") or []
            },
            min_choices=question.get("min_choices"),
            max_choices=question.get("max_choices"),
            min_value=_decimal(question.get("min")),
            max_value=_decimal(question.get("max")),
            integer=question.get("integer", True),
            max_length=question.get("max_length") or Question.DEFAULT_TEXT_MAX_LENGTH,
            straightlining_check=bool(question.get("straightlining_check")),
            attention_expect=canonical_code(attention["expect"]) if attention else "",
            section_code=section_code,
            label=question.get("label", ""),
            note=question.get("hint", ""),
            hidden=bool(question.get("hidden")),
        )
    return Structure(
        questionnaire_id=questionnaire.pk,
        slug=questionnaire.slug,
        definition_version=questionnaire.definition_version,
        one_response_per=(document.get("settings") or {}).get("one_response_per", "none"),
        questions=defs,
        section_titles=section_titles,
    )


_cache: LocalLru[tuple[int, int, datetime], Structure] = LocalLru(64)


def structure_for(questionnaire: Questionnaire) -> Structure:
    """The cached structure of this questionnaire as of its ``updated_at``."""
    key = (questionnaire.pk, questionnaire.definition_version, questionnaire.updated_at)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    built = structure_build(questionnaire)
    _cache.put(key, built)
    return built


def structure_cache_clear() -> None:
    _cache.clear()
