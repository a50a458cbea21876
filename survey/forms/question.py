"""The question page's forms: the question, its options and items."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from survey.expressions import ExpressionError, QuestionSpec, compile_expression, references
from survey.forms.checks import (
    kept_forms,
    ordered_questions,
    places_broken_by_choices,
    question_spec,
    referring_places,
)
from survey.forms.labels import (
    LabelField,
    LabelFormMixin,
)
from survey.interchange_problems import (
    ITEM_CODE_RE,
    expression_error_text,
)
from survey.models import (
    Item,
    Option,
    Question,
    Questionnaire,
    Section,
)
from survey.services.questionnaires import questionnaire_structure_lock_reason

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
            self.add_error("show_if", expression_error_text(exc))
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
        kept = kept_forms(self)
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
        kept = kept_forms(self)
        if question.type not in Question.ITEM_TYPES and kept:
            raise ValidationError(
                _("Items: a %(type)s question has no items; delete them.")
                % {"type": question.get_type_display()}
            )
        if question.type in Question.ITEM_TYPES and not kept:
            raise ValidationError(_("Items: this question needs at least one item."))
        codes = {str(f.cleaned_data.get("code", f.instance.code)) for f in kept}
        _refuse_breaking_choices(question, items=codes)
