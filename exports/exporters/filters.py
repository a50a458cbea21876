"""How an export is written (options), and which responses it holds: the filter grammar is
the survey's (``survey.filters``, shared with the results page), its refusals turned into the
exports' ``ExportInvalid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from exports.exporters.base import VALUES_CODES, VALUES_LABELS, ExportError, ExportOptions
from survey import filters as survey_filters
from survey.filters import FILTER_FIELDS, STATUS_ALL, STATUS_VALID, STATUSES, ResponseFilters
from survey.models import Questionnaire, Response

__all__ = [
    "FILTER_FIELDS",
    "OPTION_FIELDS",
    "STATUSES",
    "STATUS_ALL",
    "STATUS_VALID",
    "ExportInvalid",
    "ResponseFilters",
    "filters_parse",
    "options_parse",
    "responses_filtered",
]

OPTION_FIELDS = ("language", "labels", "values", "bom", "identity", "weighted")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ExportInvalid(ExportError):
    """Filters or options that cannot be used; ``fields`` names each one."""

    code = "invalid_export"


def filters_parse(raw: Mapping[str, Any] | None) -> ResponseFilters:
    """``survey.filters.filters_parse``, refusing with ``ExportInvalid``."""
    try:
        return survey_filters.filters_parse(raw)
    except survey_filters.FiltersInvalid as error:
        raise ExportInvalid(error.message, error.fields) from None


def responses_filtered(
    *, questionnaire: Questionnaire, filters: ResponseFilters
) -> QuerySet[Response]:
    """``survey.filters.responses_filtered``, refusing with ``ExportInvalid``."""
    try:
        return survey_filters.responses_filtered(questionnaire=questionnaire, filters=filters)
    except survey_filters.FiltersInvalid as error:
        raise ExportInvalid(error.message, error.fields) from None


def _flag(raw: Any, name: str, default: Any, errors: dict[str, list[str]]) -> Any:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    errors[name] = [_("Use true or false.")]
    return default


def options_parse(raw: Mapping[str, Any] | None, *, questionnaire: Questionnaire) -> ExportOptions:
    """Options from plain values; raises ``ExportInvalid`` naming every wrong field."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ExportInvalid(_("Options must be an object."), {"options": [_("Not an object.")]})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(raw) - set(OPTION_FIELDS)):
        errors[str(name)] = [_("Unknown option; use: %s.") % ", ".join(OPTION_FIELDS)]
    languages = [code for code, _name in settings.LANGUAGES]
    language = raw.get("language") or (
        questionnaire.default_language
        if questionnaire.default_language in languages
        else languages[0]
    )
    if language not in languages:
        errors["language"] = [_("Use one of: %s.") % ", ".join(languages)]
    values = raw.get("values") or VALUES_LABELS
    if values not in (VALUES_LABELS, VALUES_CODES):
        errors["values"] = [_("Use one of: %s.") % ", ".join((VALUES_LABELS, VALUES_CODES))]
    options = ExportOptions(
        language=language,
        labels=_flag(raw.get("labels"), "labels", None, errors),
        values=values,
        bom=_flag(raw.get("bom"), "bom", True, errors),
        identity=_flag(raw.get("identity"), "identity", False, errors),
        weighted=_flag(raw.get("weighted"), "weighted", True, errors),
    )
    if errors:
        raise ExportInvalid(_("Some options need attention."), errors)
    return options
