"""Labels in every language side by side (``LabelField``, ``LabelFormMixin``) and lists of
codes typed in one box (``CodeListField``)."""

from __future__ import annotations

import re
from copy import copy
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from survey.models import (
    Questionnaire,
)

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
