"""Form fields, widgets and forms of the questionnaire admin.

Promises:
- ``LabelField`` edits a label (``str`` or ``{language: text}``) with one box per language of
  ``settings.LANGUAGES`` and cleans to a ``{language: text}`` map without empty languages (``""``
  when an optional label is left empty). With ``LabelFormMixin`` a form also keeps languages it
  does not show, and keeps a plain-string label that was not edited as the same string.
- The admin forms check what the database cannot: ``show_if`` and segment rules compile
  against the questionnaire, option flags fit the question type, banner entries exist, a code
  change or a type change does not break an expression or the banner. Every error is attached
  to the field it is about, or names it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from copy import copy
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from survey.expressions import ExpressionError, QuestionSpec, compile_expression, references
from survey.interchange_checks import (
    ITEM_CODE_RE,
    LANGUAGE_RE,
    SEGMENT_PREFIX,
    VALIDITY_PARAMS,
    is_number,
)
from survey.models import (
    DerivedScore,
    Item,
    Option,
    Question,
    Questionnaire,
    Section,
    Segment,
    ValidityRule,
)
from survey.services.questionnaires import questionnaire_structure_lock_reason

LIST_SEPARATORS = re.compile(r"[\s,，、;；]+")


# --- labels -----------------------------------------------------------------------------------


def label_languages() -> list[str]:
    """The languages the admin edits labels in: ``settings.LANGUAGES``, the default first."""
    return [code for code, _name in settings.LANGUAGES]


def label_default_language(questionnaire: Questionnaire | None) -> str:
    """The language a plain-string label is in: the questionnaire's first, if the admin shows
    it, else the site's default."""
    shown = label_languages()
    languages = questionnaire.languages if questionnaire is not None else []
    return languages[0] if languages and languages[0] in shown else shown[0]


def label_in(label: Any, language: str, *, default_language: str) -> str:
    """The text of ``label`` in exactly ``language`` (a plain string is in the default one)."""
    if isinstance(label, str):
        return label if language == default_language else ""
    if isinstance(label, dict):
        text = label.get(language, "")
        return text if isinstance(text, str) else ""
    return ""


def label_merge(initial: Any, edited: dict | str, *, shown: list[str], default_language: str):
    """``edited`` plus the languages of ``initial`` that were not shown for editing.

    A plain-string ``initial`` that comes back unchanged stays a plain string.
    """
    if isinstance(initial, str) and initial and edited == {default_language: initial}:
        return initial
    hidden = {}
    if isinstance(initial, dict):
        hidden = {k: v for k, v in initial.items() if k not in shown and v}
    if not hidden:
        return edited
    return {**(edited if isinstance(edited, dict) else {}), **hidden}


LANGUAGE_ROW = '<div class="label-language"><label for="{}">{} <small>({})</small></label>{}</div>'


class LabelWidget(forms.MultiWidget):
    """One text box (or text area) per language, each labelled with the language's name."""

    def __init__(self, *, textarea: bool = False, attrs: dict | None = None) -> None:
        self.languages = label_languages()
        self.default_language = self.languages[0]
        inner = forms.Textarea(attrs={"rows": 3}) if textarea else forms.TextInput()
        if not textarea:
            inner.attrs["class"] = "vTextField"
        super().__init__({code: copy(inner) for code in self.languages}, attrs)

    def decompress(self, value: Any) -> list[str]:
        return [
            label_in(value, code, default_language=self.default_language) for code in self.languages
        ]

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        context = self.get_context(name, value, attrs)
        names = dict(settings.LANGUAGES)
        rows = []
        for code, widget, sub in zip(
            self.languages, self.widgets, context["widget"]["subwidgets"], strict=True
        ):
            box = widget.render(sub["name"], sub["value"], sub["attrs"], renderer)
            rows.append((sub["attrs"].get("id", ""), names[code], code, box))
        return format_html(
            '<div class="label-languages">{}</div>',
            format_html_join("", LANGUAGE_ROW, rows),
        )


class LabelField(forms.MultiValueField):
    """A label in every language of ``settings.LANGUAGES``; required means at least one."""

    default_error_messages = {
        "required": _("Give the text in at least one language."),
        "incomplete": _("Give the text in at least one language."),
    }

    def __init__(self, *, required: bool = True, textarea: bool = False, **kwargs: Any) -> None:
        self.languages = label_languages()
        fields = tuple(forms.CharField(required=False) for _code in self.languages)
        super().__init__(
            fields=fields,
            widget=LabelWidget(textarea=textarea),
            require_all_fields=False,
            required=required,
            **kwargs,
        )

    def validate(self, value: dict[str, str] | str) -> None:
        # Boxes holding only spaces pass MultiValueField's own emptiness test.
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def compress(self, data_list: list[str]) -> dict[str, str] | str:
        label = {
            code: text for code, text in zip(self.languages, data_list or [], strict=False) if text
        }
        return label or ""


def questionnaire_of(instance: Any) -> Questionnaire | None:
    """The questionnaire a definition row belongs to, if it is known yet."""
    if isinstance(instance, Questionnaire):
        return instance
    if getattr(instance, "questionnaire_id", None):
        return instance.questionnaire
    if getattr(instance, "question_id", None):
        return instance.question.questionnaire
    return None


class LabelFormMixin:
    """For model forms with ``LabelField``s: plain labels show in the questionnaire's default
    language, and languages outside ``settings.LANGUAGES`` survive an edit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = label_default_language(questionnaire_of(self.instance))
        for field in self._label_fields().values():
            field.widget.default_language = default

    def _label_fields(self) -> dict[str, LabelField]:
        return {n: f for n, f in self.fields.items() if isinstance(f, LabelField)}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, field in self._label_fields().items():
            if name in cleaned:
                cleaned[name] = label_merge(
                    self.initial.get(name),
                    cleaned[name],
                    shown=field.languages,
                    default_language=field.widget.default_language,
                )
        return cleaned


# --- lists of codes ---------------------------------------------------------------------------


class CodeListField(forms.Field):
    """A list of codes typed as text, separated by commas or spaces (``D1, D2, segment:a``)."""

    widget = forms.TextInput(attrs={"class": "vLargeTextField"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [part for part in LIST_SEPARATORS.split(value or "") if part]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        seen = set()
        for entry in value:
            if entry in seen:
                raise ValidationError(_("%(entry)s is listed twice."), params={"entry": entry})
            seen.add(entry)


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
        return f"{exc.message} (at character {exc.position + 1})"
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
    """What deleting ``questions`` would leave pointing at nothing, question by questionnaire."""
    removed: dict[int, set[int]] = {}
    questionnaires: dict[int, Questionnaire] = {}
    for question in questions:
        removed.setdefault(question.questionnaire_id, set()).add(question.pk)
        questionnaires[question.questionnaire_id] = question.questionnaire
    broken = []
    for questionnaire_id, pks in removed.items():
        questionnaire = questionnaires[questionnaire_id]
        specs = {
            q.code: question_spec(q) for q in ordered_questions(questionnaire) if q.pk not in pks
        }
        places = referring_places(questionnaire, specs, skip=pks)
        broken += [f"{questionnaire.slug}: {place}" for place in places]
    return broken


# --- the questionnaire page -------------------------------------------------------------------


class QuestionnaireForm(LabelFormMixin, forms.ModelForm):
    title = LabelField(label=_("title"))
    intro = LabelField(label=_("introduction"), required=False, textarea=True)
    languages = CodeListField(
        label=_("languages"), help_text=_("Language codes, the default first: zh-hans, en")
    )
    banner = CodeListField(
        label=_("banner"),
        required=False,
        help_text=_("Codes of single-choice questions and segment:CODE, e.g. D1, segment:active"),
    )
    # Set by the admin: when the segments inline is on the page, it checks banner segments
    # against the segments as edited; otherwise this form checks them against the database.
    segments_checked_by_inline = False

    class Meta:
        model = Questionnaire
        fields = [
            "slug",
            "languages",
            "title",
            "intro",
            "one_response_per",
            "banner",
            "significance",
        ]

    def clean_languages(self) -> list[str]:
        languages = self.cleaned_data["languages"]
        for code in languages:
            if not LANGUAGE_RE.fullmatch(code):
                raise ValidationError(
                    _("%(code)s is not a language code (like zh-hans or en)."),
                    params={"code": code},
                )
        return languages

    def clean_banner(self) -> list[str]:
        banner = self.cleaned_data["banner"]
        questions = {}
        segments = set()
        if self.instance.pk:
            questions = dict(
                Question.objects.filter(questionnaire=self.instance).values_list("code", "type")
            )
            segments = set(
                Segment.objects.filter(questionnaire=self.instance).values_list("code", flat=True)
            )
        problems = []
        for entry in banner:
            if entry.startswith(SEGMENT_PREFIX):
                code = entry.removeprefix(SEGMENT_PREFIX)
                if not self.segments_checked_by_inline and code not in segments:
                    problems.append(_("%(entry)s: no such segment.") % {"entry": entry})
            elif entry not in questions:
                problems.append(_("%(entry)s: no such question.") % {"entry": entry})
            elif questions[entry] != Question.Type.SINGLE:
                problems.append(
                    _("%(entry)s: only single-choice questions can cut tables.") % {"entry": entry}
                )
        if problems:
            raise ValidationError(problems)
        return banner


class SectionForm(LabelFormMixin, forms.ModelForm):
    title = LabelField(label=_("title"), required=False)

    class Meta:
        model = Section
        fields = ["code", "title", "position"]


class DerivedScoreForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = DerivedScore
        fields = ["code", "question", "label", "position"]

    def clean_question(self) -> Question:
        question = self.cleaned_data["question"]
        if question.type not in (Question.Type.SINGLE, Question.Type.MATRIX):
            raise ValidationError(_("Only single-choice and matrix questions can be scored."))
        if not question.options.filter(score__isnull=False).exists():
            raise ValidationError(
                _("%(code)s has no scored options: give its options scores first."),
                params={"code": question.code},
            )
        return question


class DerivedScoreFormSet(forms.BaseInlineFormSet):
    """Offers only the questionnaire's single-choice and matrix questions to score."""

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "question" in form.fields:
            questions = Question.objects.none()
            if self.instance.pk:
                questions = Question.objects.filter(
                    questionnaire=self.instance,
                    type__in=[Question.Type.SINGLE, Question.Type.MATRIX],
                )
            form.fields["question"].queryset = questions


class SegmentForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Segment
        fields = ["code", "label", "rule", "position"]
        widgets = {"rule": forms.Textarea(attrs={"rows": 2, "cols": 60})}


class SegmentFormSet(forms.BaseInlineFormSet):
    """Compiles every rule against the questionnaire's questions, and checks that the segments
    the banner names are still there after this edit."""

    def clean(self) -> None:
        super().clean()
        specs = {q.code: question_spec(q) for q in ordered_questions(self.instance)}
        kept = set()
        for form in _kept_forms(self):
            code = form.cleaned_data.get("code") or form.initial.get("code")
            if code:
                kept.add(code)
            rule = form.cleaned_data.get("rule")
            if rule and (problem := expression_problem(rule, specs)):
                form.add_error("rule", problem)
        missing = [
            entry
            for entry in self.instance.banner or []
            if str(entry).startswith(SEGMENT_PREFIX)
            and entry.removeprefix(SEGMENT_PREFIX) not in kept
        ]
        if missing:
            raise ValidationError(
                _("Banner: %(entries)s names a segment that is not kept here.")
                % {"entries": ", ".join(missing)}
            )


class ValidityRuleForm(forms.ModelForm):
    class Meta:
        model = ValidityRule
        fields = ["kind", "action", "params"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind, params = cleaned.get("kind"), cleaned.get("params")
        if kind is None or "params" in self.errors:
            return cleaned
        if params in ("", None):
            params = {}
        if not isinstance(params, dict):
            self.add_error("params", _("Give the parameters as a JSON object, e.g. {}."))
            return cleaned
        problem = validity_params_problem(kind, params)
        if problem:
            self.add_error("params", problem)
        cleaned["params"] = params
        return cleaned


def validity_params_problem(kind: str, params: dict) -> str | None:
    """What is wrong with the parameters of a validity rule, or None."""
    expected = set(VALIDITY_PARAMS.get(kind, ()))
    unknown = sorted(set(params) - expected)
    if unknown:
        return _("Unknown parameter %(name)s; this rule takes: %(expected)s.") % {
            "name": unknown[0],
            "expected": ", ".join(sorted(expected)) or "{}",
        }
    if kind == ValidityRule.Kind.SPEEDER:
        fraction = params.get("below_fraction_of_median")
        if not is_number(fraction) or not 0 < fraction < 1:
            return _("below_fraction_of_median must be a number between 0 and 1, e.g. 0.33.")
    if kind == ValidityRule.Kind.STRAIGHTLINING:
        min_items = params.get("min_items")
        if not isinstance(min_items, int) or isinstance(min_items, bool) or min_items < 2:
            return _("min_items must be a whole number of at least 2.")
    return None


class ValidityRuleFormSet(forms.BaseInlineFormSet):
    """A rule that can never fire is refused, as in definition files."""

    def clean(self) -> None:
        super().clean()
        respondent = self.instance.one_response_per == Questionnaire.OneResponsePer.RESPONDENT
        checked = Question.objects.filter(questionnaire=self.instance, straightlining_check=True)
        for form in _kept_forms(self):
            kind = form.cleaned_data.get("kind")
            if kind == ValidityRule.Kind.DUPLICATE and not respondent:
                message = _("The duplicate rule needs “one response per” set to respondent.")
                form.add_error("kind", message)
            if kind == ValidityRule.Kind.STRAIGHTLINING and not checked.exists():
                message = _("The straight-lining rule needs a matrix with the check switched on.")
                form.add_error("kind", message)


# --- the question page ------------------------------------------------------------------------


class QuestionForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Question
        fields = [
            "questionnaire",
            "section",
            "code",
            "type",
            "label",
            "required",
            "show_if",
            "position",
            "min_choices",
            "max_choices",
            "min_value",
            "max_value",
            "integer",
            "max_length",
            "straightlining_check",
            "attention_expect",
        ]
        widgets = {"show_if": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        section = self.fields.get("section")
        if section is not None:
            sections = Section.objects.select_related("questionnaire")
            questionnaire_id = self.instance.questionnaire_id or self.initial.get("questionnaire")
            if questionnaire_id and not self.is_bound:
                sections = sections.filter(questionnaire_id=questionnaire_id)
            elif self.instance.questionnaire_id:
                sections = sections.filter(questionnaire_id=self.instance.questionnaire_id)
            section.queryset = sections
            section.label_from_instance = lambda s: f"{s.questionnaire.slug} / {s}"

    def _questionnaire(self) -> Questionnaire | None:
        if self.instance.questionnaire_id:
            return self.instance.questionnaire
        return self.cleaned_data.get("questionnaire")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        questionnaire = self._questionnaire()
        if questionnaire is None:
            return cleaned
        if not self.instance.pk:
            self._check_can_add(questionnaire)
        section = cleaned.get("section")
        if section is not None and section.questionnaire_id != questionnaire.pk:
            self.add_error(
                "section", _("Choose a section of %(slug)s.") % {"slug": questionnaire.slug}
            )
        self._check_code_unique(questionnaire)
        self._check_type_fields()
        self._check_expressions(questionnaire)
        return cleaned

    def _check_can_add(self, questionnaire: Questionnaire) -> None:
        reason = questionnaire_structure_lock_reason(questionnaire=questionnaire)
        if reason:
            self.add_error("questionnaire", reason)

    def _check_code_unique(self, questionnaire: Questionnaire) -> None:
        code = self.cleaned_data.get("code")
        others = Question.objects.filter(questionnaire=questionnaire, code=code)
        if code and others.exclude(pk=self.instance.pk).exists():
            self.add_error(
                "code",
                _("%(slug)s already has a question %(code)s.")
                % {"slug": questionnaire.slug, "code": code},
            )

    def _check_type_fields(self) -> None:
        cleaned = self.cleaned_data
        qtype = cleaned.get("type", self.instance.type)
        if cleaned.get("attention_expect") and qtype != Question.Type.SINGLE:
            self.add_error(
                "attention_expect", _("Only a single-choice question can be an attention check.")
            )
        if cleaned.get("straightlining_check") and qtype != Question.Type.MATRIX:
            self.add_error("straightlining_check", _("Only a matrix question has this check."))
        pairs = [("min_choices", "max_choices"), ("min_value", "max_value")]
        for low, high in pairs:
            both = cleaned.get(low) is not None and cleaned.get(high) is not None
            if both and cleaned[low] > cleaned[high]:
                self.add_error(high, _("Must not be below %(low)s.") % {"low": cleaned[low]})

    def _check_expressions(self, questionnaire: Questionnaire) -> None:
        """show_if reads only earlier questions; a new code or type breaks no other expression."""
        questions = [q for q in ordered_questions(questionnaire) if q.pk != self.instance.pk]
        code = self.cleaned_data.get("code", self.instance.code)
        qtype = self.cleaned_data.get("type", self.instance.type)
        if not code or not qtype:
            return
        own = QuestionSpec(code=code, type=qtype)
        if self.instance.pk:
            own = question_spec(self.instance)
            own = QuestionSpec(code=code, type=qtype, options=own.options, items=own.items)
        specs = {q.code: question_spec(q) for q in questions} | {code: own}
        show_if = self.cleaned_data.get("show_if", "")
        if show_if.strip():
            self._check_show_if(show_if, specs, self._earlier_codes(questions), code)
        changed = {"code", "type"} & set(self.changed_data)
        if self.instance.pk and changed:
            broken = referring_places(questionnaire, specs, skip={self.instance.pk})
            if broken:
                self.add_error(
                    sorted(changed)[0],
                    _("This change would break: %(places)s") % {"places": "; ".join(broken)},
                )

    def _earlier_codes(self, questions: list[Question]) -> set[str]:
        section = self.cleaned_data.get("section") or getattr(self.instance, "section", None)
        position = self.cleaned_data.get("position", self.instance.position)
        if section is None:
            return set()
        here = (section.position, section.pk, position, self.instance.pk or float("inf"))
        return {
            q.code for q in questions if (q.section.position, q.section_id, q.position, q.pk) < here
        }

    def _check_show_if(
        self, source: str, specs: dict[str, QuestionSpec], earlier: set[str], own: str
    ) -> None:
        try:
            expr = compile_expression(source, specs)
        except ExpressionError as exc:
            self.add_error("show_if", f"{exc.message} (at character {exc.position + 1})")
            return
        later = sorted({code for code, _item in references(expr)} - earlier)
        if own in later:
            self.add_error("show_if", _("A question cannot depend on itself."))
        elif later:
            self.add_error(
                "show_if",
                _("show_if may only read questions asked before this one: %(codes)s come later.")
                % {"codes": ", ".join(later)},
            )


class OptionForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Option
        fields = ["code", "label", "score", "is_other", "exclusive", "position"]


class ItemForm(LabelFormMixin, forms.ModelForm):
    label = LabelField(label=_("label"))

    class Meta:
        model = Item
        fields = ["code", "label", "position"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not ITEM_CODE_RE.fullmatch(code):
            raise ValidationError(
                _(
                    "Use a letter then letters, digits or _, or only digits: expressions read it "
                    "as Q2.%(code)s."
                ),
                params={"code": code},
            )
        return code


def _kept_forms(formset: forms.BaseInlineFormSet) -> list[forms.Form]:
    """The forms whose rows exist after this save (not deleted, not blank extra forms)."""
    return [
        form
        for form in formset.forms
        if not form.cleaned_data.get("DELETE") and (form.instance.pk or form.has_changed())
    ]


def _refuse_breaking_choices(
    question: Question, *, options: set[str] | None = None, items: set[str] | None = None
) -> None:
    """Refuse new option or item codes of a saved question that an expression still reads."""
    if not question.pk:
        return
    unchanged = (
        options is None or options == set(question.options.values_list("code", flat=True))
    ) and (items is None or items == set(question.items.values_list("code", flat=True)))
    if unchanged:
        return
    broken = places_broken_by_choices(question, options=options, items=items)
    if broken:
        noun = _("Options") if options is not None else _("Items")
        raise ValidationError(
            _("%(noun)s: this change would break: %(places)s")
            % {"noun": noun, "places": "; ".join(broken)}
        )


class OptionFormSet(forms.BaseInlineFormSet):
    """Option flags that fit the question type; options only where the type has them."""

    def clean(self) -> None:
        super().clean()
        question = self.instance
        kept = _kept_forms(self)
        if question.type not in Question.CHOICE_TYPES:
            if kept:
                raise ValidationError(
                    _("Options: a %(type)s question has no options; delete them.")
                    % {"type": question.get_type_display()}
                )
            return
        if not kept:
            raise ValidationError(_("Options: a choice question needs at least one option."))
        for form in kept:
            data = form.cleaned_data
            if data.get("exclusive") and question.type != Question.Type.MULTIPLE:
                form.add_error(
                    "exclusive", _("Only options of a multiple-choice question can be exclusive.")
                )
            if data.get("is_other") and question.type == Question.Type.MATRIX:
                form.add_error("is_other", _("A point of a matrix scale cannot be “other”."))
        others = [f for f in kept if f.cleaned_data.get("is_other", f.instance.is_other)]
        if len(others) > 1:
            raise ValidationError(_("Options: only one option may be “other”."))
        codes = {str(f.cleaned_data.get("code", f.instance.code)) for f in kept}
        _refuse_breaking_choices(question, options=codes)
        if question.attention_expect and question.attention_expect not in codes:
            raise ValidationError(
                _("Attention check: the expected option %(code)s is not among the options.")
                % {"code": question.attention_expect}
            )
        if question.max_choices is not None and question.max_choices > len(kept):
            raise ValidationError(
                _("Max choices: %(n)s is more than the %(count)s options.")
                % {"n": question.max_choices, "count": len(kept)}
            )


class ItemFormSet(forms.BaseInlineFormSet):
    """Items exactly where the type has them (matrix and number grid)."""

    def clean(self) -> None:
        super().clean()
        question = self.instance
        kept = _kept_forms(self)
        if question.type not in Question.ITEM_TYPES and kept:
            raise ValidationError(
                _("Items: a %(type)s question has no items; delete them.")
                % {"type": question.get_type_display()}
            )
        if question.type in Question.ITEM_TYPES and not kept:
            raise ValidationError(_("Items: this question needs at least one item."))
        codes = {str(f.cleaned_data.get("code", f.instance.code)) for f in kept}
        _refuse_breaking_choices(question, items=codes)


# --- uploading a definition file --------------------------------------------------------------


class DefinitionUploadForm(forms.Form):
    file = forms.FileField(label=_("Definition file"))
    replace = forms.BooleanField(
        label=_("Replace the existing questionnaire with the same slug"),
        required=False,
        help_text=_(
            "Without this, a file whose slug exists is refused. With responses, only labels, "
            "scores, segments, validity rules and analysis settings can change."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.QUESTIONNAIRE_UPLOAD_MAX_BYTES)
        self.fields["file"].help_text = _(
            "A questionnaire/v1 file, YAML or JSON, at most %(limit)s."
        ) % {"limit": limit}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.QUESTIONNAIRE_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                _("The file is %(size)s; the limit is %(limit)s."),
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            )
        return upload
