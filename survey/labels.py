"""Multilingual labels: a plain string, or a map from language code to string."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

Label = str | dict[str, str]


def label_text(label: Any, language: str | None = None, fallbacks: list[str] | None = None) -> str:
    """The label in ``language`` (default: the active one), else the first language it has."""
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    if not isinstance(label, dict) or not label:
        return ""
    language = language or get_language() or ""
    for candidate in [language, language.split("-")[0], *(fallbacks or [])]:
        if candidate and label.get(candidate):
            return label[candidate]
    return next((text for text in label.values() if text), "")


def is_label(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def reason_labels() -> dict[str, str]:
    """Each validity rule kind's name for people, in the active language."""
    return {
        "speeder": _("Too fast"),
        "attention": _("Failed the attention check"),
        "duplicate": _("Repeat respondent"),
        "straightlining": _("Straight-lining"),
    }
