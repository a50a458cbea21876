"""What the form template draws: sections, questions, options and items with their labels in
the active language, the values to show (after a POST, exactly what was sent) and the errors
next to each, plus the error summary. Built from the cached structure: no query per question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from survey.labels import label_text
from survey.services.answers import OTHER_SUFFIX
from survey.structure import QuestionDef, Structure

Values = Mapping[str, list[str]]  # field name → the values sent (a QueryDict's lists)


COMPACT_MAX_POINTS = 7
BESIDE_MAX_POINTS = 5  # 5 radios of 44 px leave a phone's label column about 100 px
SHORT_OPTION = 12  # characters: two such options fit side by side (in two lines at most)


@dataclass
class OptionView:
    code: str
    label: str
    id: str
    checked: bool = False
    exclusive: bool = False
    is_other: bool = False


@dataclass
class ItemView:
    code: str
    label: str
    id: str  # the fieldset of a matrix item, the input of a grid item
    name: str
    value: str = ""
    options: list[OptionView] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def error_id(self) -> str:
        return f"{self.id}-err"


@dataclass
class OtherView:
    name: str
    id: str
    value: str
    option_id: str
    errors: list[str] = field(default_factory=list)

    @property
    def error_id(self) -> str:
        return f"{self.id}-err"


@dataclass
class QuestionView:
    code: str
    number: int
    type: str
    label: str
    required: bool
    conditional: bool
    id: str
    errors: list[str] = field(default_factory=list)
    options: list[OptionView] = field(default_factory=list)
    items: list[ItemView] = field(default_factory=list)
    value: str = ""
    other: OtherView | None = None
    min_choices: int | None = None
    max_choices: int | None = None
    max_length: int = 0
    number_min: str = ""
    number_max: str = ""
    integer: bool = True
    hint: str = ""
    note: str = ""  # the author's hint under the label (XLSForm's hint column)
    scale: list[OptionView] = field(default_factory=list)  # a matrix's points, for its header

    @property
    def compact(self) -> bool:
        """A matrix shown one row per item, the scale across (a phone fits up to 7 points)."""
        return self.type == "matrix" and 0 < len(self.scale) <= COMPACT_MAX_POINTS

    @property
    def columns(self) -> bool:
        """Options short enough to sit two to a row (an "other" box opens across both)."""
        return (
            self.type in ("single", "multiple")
            and len(self.options) > 1
            and all(len(option.label) <= SHORT_OPTION for option in self.options)
        )

    @property
    def columns_grid(self) -> bool:
        """A number grid whose item labels are short: two inputs to a row."""
        return self.type == "number_grid" and all(
            len(item.label) <= SHORT_OPTION for item in self.items
        )

    @property
    def beside(self) -> bool:
        """A compact matrix with few points: each item's label beside its row of radios."""
        return self.compact and len(self.scale) <= BESIDE_MAX_POINTS

    @property
    def error_id(self) -> str:
        return f"{self.id}-err"

    @property
    def hint_id(self) -> str:
        return f"{self.id}-hint"

    @property
    def input_id(self) -> str:
        return f"f-{self.code}"

    @property
    def inputmode(self) -> str:
        return "numeric" if self.integer else "decimal"

    @property
    def pattern(self) -> str:
        sign = "-?" if not self.number_min or self.number_min.startswith("-") else ""
        return f"{sign}[0-9]*" if self.integer else f"{sign}[0-9]*([.,][0-9]+)?"

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or any(item.errors for item in self.items)
            or (self.other is not None and self.other.errors)
        )


@dataclass
class SectionView:
    code: str
    title: str
    index: int
    questions: list[QuestionView]


@dataclass
class SummaryLine:
    href: str
    text: str


@dataclass
class FormPage:
    sections: list[SectionView]
    summary: list[SummaryLine]


def form_page_build(
    *, structure: Structure, values: Values | None = None, errors: Mapping[str, list[str]]
) -> FormPage:
    """The page for this structure in the active language; ``values`` None is a fresh form."""
    values = values or {}
    sections: dict[str, SectionView] = {}
    questions: dict[str, QuestionView] = {}
    asked = [q for q in structure.questions.values() if not q.hidden]  # hidden: no longer asked
    for number, question in enumerate(asked, start=1):
        code = question.section_code
        if code not in sections:
            title = label_text(structure.section_titles.get(code, ""))
            sections[code] = SectionView(code, title, len(sections) + 1, [])
        view = _question_view(question, number, values, errors)
        sections[code].questions.append(view)
        questions[question.code] = view
    return FormPage(list(sections.values()), _summary(questions, errors))


def _question_view(
    question: QuestionDef, number: int, values: Values, errors: Mapping[str, list[str]]
) -> QuestionView:
    code = question.code
    view = QuestionView(
        code=code,
        number=number,
        type=question.type,
        label=label_text(question.label),
        note=label_text(question.note),
        required=question.required,
        conditional=question.show_if is not None,
        id=f"q-{code}",
        errors=list(errors.get(code, [])),
        min_choices=question.min_choices,
        max_choices=question.max_choices,
        max_length=question.max_length,
        number_min=_plain(question.min_value),
        number_max=_plain(question.max_value),
        integer=question.integer,
    )
    sent = values.get(code, [])
    if question.type in ("single", "multiple"):
        view.options = _options(question, f"f-{code}", set(sent))
    elif question.type in ("matrix", "number_grid"):
        view.items = _items(question, values, errors)
        if question.type == "matrix":
            view.scale = _options(question, f"s-{code}", set())
    else:
        view.value = sent[0] if sent else ""
    if question.offers_other:
        other_option = next(o for o in view.options if o.is_other)
        name = f"{code}{OTHER_SUFFIX}"
        view.other = OtherView(
            name=name,
            id=f"o-{code}",
            value=(values.get(name) or [""])[0],
            option_id=other_option.id,
            errors=list(errors.get(name, [])),
        )
    view.hint = _hint(view)
    return view


def _options(question: QuestionDef, prefix: str, sent: set[str]) -> list[OptionView]:
    return [
        OptionView(
            code=option.code,
            label=label_text(option.label),
            id=f"{prefix}-{index}",
            checked=option.code in sent,
            exclusive=option.exclusive,
            is_other=option.is_other,
        )
        for index, option in enumerate(question.options.values(), start=1)
        if not option.hidden  # no longer offered
    ]


def _items(
    question: QuestionDef, values: Values, errors: Mapping[str, list[str]]
) -> list[ItemView]:
    items = []
    for item in question.items.values():
        name = f"{question.code}.{item.code}"
        sent = values.get(name, [])
        view = ItemView(
            code=item.code,
            label=label_text(item.label),
            id=f"i-{question.code}-{item.code}",
            name=name,
            value=sent[0] if sent else "",
            errors=list(errors.get(name, [])),
        )
        if question.type == "matrix":
            view.options = _options(question, view.id, set(sent[:1]))
        items.append(view)
    return items


def _hint(view: QuestionView) -> str:
    if view.type == "multiple":
        if view.max_choices and view.min_choices:
            return _("Choose %(min)d to %(max)d.") % {
                "min": view.min_choices,
                "max": view.max_choices,
            }
        if view.max_choices:
            return _("Choose up to %d.") % view.max_choices
        if view.min_choices:
            return _("Choose at least %d.") % view.min_choices
        return _("Choose all that apply.")
    if view.type in ("number", "number_grid"):
        kind = _("A whole number") if view.integer else _("A number")
        if view.number_min and view.number_max:
            return _("%(kind)s from %(min)s to %(max)s.") % {
                "kind": kind,
                "min": view.number_min,
                "max": view.number_max,
            }
        return _("%(kind)s.") % {"kind": kind}
    if view.type == "text":
        return _("Up to %d characters.") % view.max_length
    return ""


def _summary(
    questions: Mapping[str, QuestionView], errors: Mapping[str, list[str]]
) -> list[SummaryLine]:
    """One line per message, in question order, linking to the question, item or other box."""
    lines: list[tuple[int, SummaryLine]] = []
    for key, messages in errors.items():
        code, _dot, rest = key.partition(".")
        question = questions.get(code)
        for message in messages:
            if question is None:
                lines.append((0, SummaryLine(href="", text=message)))
                continue
            href, where = _place(question, rest, message)
            text = _("Question %(number)d%(where)s: %(message)s") % {
                "number": question.number,
                "where": where,
                "message": message,
            }
            lines.append((question.number, SummaryLine(href=href, text=text)))
    return [line for _number, line in sorted(lines, key=lambda pair: pair[0])]


def _place(question: QuestionView, rest: str, message: str) -> tuple[str, str]:
    """Where a message belongs, and the place's words unless the message says them."""
    if rest == "other" and question.other is not None:
        return f"#{question.other.id}", _place_note(_("other"))
    for item in question.items:
        if item.code == rest:
            return f"#{item.id}", "" if item.label in message else _place_note(str(item.label))
    return f"#{question.id}", ""


def _place_note(place: str) -> str:
    """Which part of a question a summary line is about, as the language writes it."""
    return _(" (%(place)s)") % {"place": place}


def _plain(number: Decimal | None) -> str:
    if number is None:
        return ""
    return format(number.normalize(), "f")
