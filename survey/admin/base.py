"""What the questionnaire and question pages share: the structural lock per request, which
edits matter to the analysis, the admin's extra stylesheet, spreadsheet permissions."""

from __future__ import annotations

from typing import Any

from django.forms import BaseInlineFormSet, ModelForm
from django.http import (
    HttpRequest,
)

from survey.forms.labels import questionnaire_of
from survey.models import (
    Questionnaire,
)
from survey.services.questionnaires import (
    questionnaire_structure_lock_reason,
)

DEFINITION_FORMATS = {
    "yaml": "application/yaml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
# Changing only these keeps definition_version: the analysis does not read them.
LABEL_FIELDS = frozenset({"label", "title", "intro"})


def structure_lock_reason(request: HttpRequest, questionnaire: Questionnaire | None) -> str | None:
    """The questionnaire's lock reason, asked once per request (pages ask it many times)."""
    if questionnaire is None or questionnaire.pk is None:
        return None
    cache = request.__dict__.setdefault("_structure_lock_reasons", {})
    if questionnaire.pk not in cache:
        cache[questionnaire.pk] = questionnaire_structure_lock_reason(questionnaire=questionnaire)
    return cache[questionnaire.pk]


def analysis_relevant_change(form: ModelForm, formsets: list[BaseInlineFormSet]) -> bool:
    """Whether a saved admin page changed anything but labels (call after the save)."""
    if set(form.changed_data) - LABEL_FIELDS:
        return True
    for formset in formsets:
        if formset.new_objects or formset.deleted_objects:
            return True
        if any(set(fields) - LABEL_FIELDS for _obj, fields in formset.changed_objects):
            return True
    return False


class AdminExtMedia:
    css = {"all": ["admin-ext/admin.css"]}


class LockAwareInline:
    """Inline whose ``structural_fields`` are read-only, and rows fixed, while locked."""

    structural_fields: tuple[str, ...] = ()

    def _locked(self, request: HttpRequest, obj: Any) -> bool:
        return bool(structure_lock_reason(request, questionnaire_of(obj) if obj else None))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + self.structural_fields if self._locked(request, obj) else fields

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:
        return super().has_add_permission(request, obj) and not self._locked(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._locked(request, obj)


class PermissionCheckedImportExportMixin:
    """Spreadsheet import needs the change permission, export the view permission (the
    library's default lets any staff member import)."""

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)
