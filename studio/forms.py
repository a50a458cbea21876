"""The studio's forms: one question's fields (only those its type takes), its options or
scale points and its items as formsets, and the new-questionnaire form.

The form fields carry the admin pages' names (``survey.forms.rulebook.QUESTION_FIELDS``), so
``place_problems`` puts each of the rulebook's problems beside the field it came from.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from survey.forms.labels import LabelField
from survey.forms.rulebook import item_entry, option_entry
from survey.services.questionnaires import export_code, plain_number

# questionnaire/v1 type → the question form's fields beyond code, label, required, show_if
TYPE_FIELDS = {
    "single": ("attention_expect",),
    "multiple": ("min_choices", "max_choices"),
    "matrix": ("straightlining_check",),
    "number": ("min_value", "max_value", "integer"),
    "number_grid": ("min_value", "max_value", "integer"),
    "text": ("max_length",),
}
ALL_TYPE_FIELDS = {name for names in TYPE_FIELDS.values() for name in names}
# Keys of a question the form edits; any other key of the document's question is kept as is.
EDITED_KEYS = {
    "code", "type", "label", "required", "show_if", "options", "scale", "items",
    "attention_check", "min_choices", "max_choices", "min", "max", "integer", "max_length",
    "straightlining_check",
}  # fmt: skip
TYPE_NAMES = {
    "single": _("Single choice"),
    "multiple": _("Multiple choice"),
    "matrix": _("Matrix (rating scale)"),
    "number": _("Number"),
    "number_grid": _("Number grid"),
    "text": _("Text"),
}


class QuestionForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64)
    label = LabelField(label=_("Question text"), textarea=True)
    required = forms.BooleanField(label=_("Required"), required=False)
    show_if = forms.CharField(
        label=_("Ask only if"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"data-expression": ""}),
        help_text=_("An expression such as D1 == 2 or Q9 has 6; empty: always asked."),
    )
    attention_expect = forms.CharField(
        label=_("Attention check: the expected option"),
        required=False,
        max_length=64,
        help_text=_("Empty: not an attention check."),
    )
    min_choices = forms.IntegerField(label=_("At least this many choices"), required=False)
    max_choices = forms.IntegerField(label=_("At most this many choices"), required=False)
    min_value = forms.DecimalField(label=_("Smallest answer"), required=False)
    max_value = forms.DecimalField(label=_("Largest answer"), required=False)
    integer = forms.BooleanField(label=_("Whole numbers only"), required=False)
    max_length = forms.IntegerField(label=_("At most this many characters"), required=False)
    straightlining_check = forms.BooleanField(
        label=_("Flag answers with one scale point on every item"), required=False
    )

    def __init__(
        self, *args: Any, type_: str, options: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.type = type_
        for name in ALL_TYPE_FIELDS - set(TYPE_FIELDS.get(type_, ())):
            del self.fields[name]
        if "attention_expect" in self.fields and options is not None:
            # A picker of the question's options (as saved: a new option is picked once saved).
            self.fields["attention_expect"] = forms.ChoiceField(
                label=_("Attention check: the option an attentive respondent chooses"),
                choices=[("", _("— not an attention check —")), *options],
                required=False,
            )

    @staticmethod
    def initial_from(question: dict[str, Any]) -> dict[str, Any]:
        attention = question.get("attention_check") or {}
        return {
            "code": question.get("code"),
            "label": question.get("label"),
            "required": question.get("required", True),
            "show_if": question.get("show_if", ""),
            "attention_expect": attention.get("expect", "") if isinstance(attention, dict) else "",
            "min_choices": question.get("min_choices"),
            "max_choices": question.get("max_choices"),
            "min_value": question.get("min"),
            "max_value": question.get("max"),
            "integer": question.get("integer", True),
            "max_length": question.get("max_length"),
            "straightlining_check": question.get("straightlining_check", False),
        }

    def entry(self, original: dict[str, Any]) -> dict[str, Any]:
        """The question as edited (cleaned data), with the keys this form does not edit kept."""
        data = self.cleaned_data
        entry: dict[str, Any] = {"code": data["code"].strip(), "type": self.type}
        entry["label"] = data["label"]
        if not data["required"]:
            entry["required"] = False
        if (data.get("show_if") or "").strip():
            entry["show_if"] = data["show_if"].strip()
        if (data.get("attention_expect") or "").strip():
            entry["attention_check"] = {"expect": export_code(data["attention_expect"].strip())}
        for key, name in (
            ("min_choices", "min_choices"),
            ("max_choices", "max_choices"),
            ("min", "min_value"),
            ("max", "max_value"),
            ("max_length", "max_length"),
        ):
            value = data.get(name)
            if value is not None:
                entry[key] = plain_number(value) if isinstance(value, Decimal) else value
        if "integer" in self.fields and not data["integer"]:
            entry["integer"] = False
        if data.get("straightlining_check"):
            entry["straightlining_check"] = True
        for key, value in original.items():
            if key not in EDITED_KEYS:
                entry[key] = value
        return entry


class ChoiceForm(forms.Form):
    """An option, or a scale point of a matrix (no "other" or "exclusive" there)."""

    code = forms.CharField(label=_("Code"), max_length=64)
    label = LabelField(label=_("Wording"))
    score = forms.DecimalField(label=_("Score"), required=False, max_digits=12, decimal_places=4)
    is_other = forms.BooleanField(label=_("Other, please specify"), required=False)
    exclusive = forms.BooleanField(label=_("Exclusive"), required=False)

    def __init__(self, *args: Any, scale: bool = False, multiple: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if scale:
            del self.fields["is_other"]
        if not multiple:
            del self.fields["exclusive"]

    @staticmethod
    def initial_from(option: dict[str, Any]) -> dict[str, Any]:
        return {
            "code": option.get("code"),
            "label": option.get("label"),
            "score": option.get("score"),
            "is_other": option.get("other", False),
            "exclusive": option.get("exclusive", False),
        }

    def entry(self) -> dict[str, Any]:
        return option_entry(self.cleaned_data)


class ItemForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64)
    label = LabelField(label=_("Wording"))

    @staticmethod
    def initial_from(item: dict[str, Any]) -> dict[str, Any]:
        return {"code": item.get("code"), "label": item.get("label")}

    def entry(self) -> dict[str, Any]:
        return item_entry(self.cleaned_data)


ChoiceFormSet = forms.formset_factory(ChoiceForm, extra=0, can_delete=True, can_order=True)
ItemFormSet = forms.formset_factory(ItemForm, extra=0, can_delete=True, can_order=True)


def kept_in_order(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The forms kept (not deleted), in the order their ORDER boxes give (ties as listed)."""
    kept = [form for form in formset.forms if not formset._should_delete_form(form)]
    indexed = list(enumerate(kept))
    indexed.sort(key=lambda pair: (pair[1].cleaned_data.get("ORDER") or pair[0] + 1, pair[0]))
    return [form for _index, form in indexed]


SLUG = RegexValidator(r"^[a-z0-9-]+$", _("Use lower-case letters, digits and hyphens."))


class NewQuestionnaireForm(forms.Form):
    """A new questionnaire: blank, from a template, from a file, or a copy of another."""

    SOURCES = (
        ("blank", _("Blank")),
        ("template", _("From a template")),
        ("file", _("From a file (questionnaire/v1 YAML or JSON, or XLSForm)")),
        ("copy", _("A copy of another questionnaire")),
    )
    source = forms.ChoiceField(
        label=_("Start from"), choices=SOURCES, initial="blank", widget=forms.RadioSelect
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    slug = forms.CharField(
        label=_("Address (slug)"),
        max_length=64,
        validators=[SLUG],
        help_text=_("Part of the form's link: lower-case letters, digits and hyphens."),
    )
    template = forms.ChoiceField(label=_("Template"), required=False, choices=())
    copy_of = forms.ChoiceField(label=_("Copy of"), required=False, choices=())
    file = forms.FileField(label=_("File"), required=False)

    def __init__(self, *args: Any, templates: list, questionnaires: list, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = templates
        self.fields["copy_of"].choices = questionnaires

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        needs = {"blank": "title", "template": "template", "file": "file", "copy": "copy_of"}
        source = data.get("source")
        if source in needs and not data.get(needs[source]):
            self.add_error(needs[source], _("This is needed to start from here."))
        return data
