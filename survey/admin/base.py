"""What the questionnaire and question pages share: the structural lock per request, saves as
definition edits (``DefinitionChangeAdmin``), the admin's extra stylesheet, spreadsheet
permissions."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from survey.forms.labels import questionnaire_of
from survey.forms.rulebook import breaks
from survey.models import (
    Questionnaire,
)
from survey.services.definitions import definition_change
from survey.services.questionnaires import questionnaire_structure_lock_reason

# The download URL's extension → the file format (survey.interchange.FILE_FORMATS).
DEFINITION_FORMATS = {"yaml": "yaml", "json": "json", "xlsx": "xlsform"}


def structure_lock_reason(request: HttpRequest, questionnaire: Questionnaire | None) -> str | None:
    """The questionnaire's lock reason, asked once per request (pages ask it many times)."""
    if questionnaire is None or questionnaire.pk is None:
        return None
    cache = request.__dict__.setdefault("_structure_lock_reasons", {})
    if questionnaire.pk not in cache:
        cache[questionnaire.pk] = questionnaire_structure_lock_reason(questionnaire=questionnaire)
    return cache[questionnaire.pk]


class DefinitionChangeAdmin:
    """Saving or deleting on a change page is one edit of a questionnaire's definition: when it
    changes what the analysis reads (``definition_change``, by digest), ``definition_version``
    rises and the analysis is told. Pages say whose definition an object is part of."""

    def definition_owner(self, object_id: str) -> Questionnaire | None:
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        view = super().changeform_view  # type: ignore[misc]
        return self._as_definition_edit(request, object_id, view, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        view = super().delete_view  # type: ignore[misc]
        return self._as_definition_edit(request, object_id, view, extra_context)

    def _as_definition_edit(
        self, request: HttpRequest, object_id: str | None, view: Any, *args: Any
    ) -> HttpResponse:
        owner = self.definition_owner(object_id) if object_id and request.method == "POST" else None
        if owner is None:
            return view(request, object_id, *args)
        with transaction.atomic(), definition_change(questionnaire=owner):
            return view(request, object_id, *args)


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


class RulebookCheck:
    """The last "formset" of a definition page: once the page's form and inline formsets are
    valid on their own, ``judge(form, formsets)`` asks the rulebook about the candidate
    document (survey.forms.rulebook) and its problems are put beside the fields they came
    from. It saves nothing. The admin hands it the form from ``save_form``, which Django calls
    when the form is valid and before it validates the formsets."""

    new_objects: list = []
    changed_objects: list = []
    deleted_objects: list = []
    errors: list = []

    def __init__(self, request: HttpRequest, formsets: list, judge: Any) -> None:
        self.request = request
        self.formsets = list(formsets)
        self.judge = judge

    def non_form_errors(self) -> list:
        return []

    def is_valid(self) -> bool:
        form = getattr(self.request, "_rulebook_form", None)
        if form is None or not all(formset.is_valid() for formset in self.formsets):
            return True  # their own errors are shown first
        placed, whole = self.judge(form, self.formsets)
        if not placed and not whole:
            return True
        for target, field, message in placed.beside:
            target = target if target is not None else form
            target.add_error(field if field in target.fields else None, message)
        for formset, message in whole:
            if formset is not None:
                formset.non_form_errors().append(message)
            else:
                form.add_error(None, message)
        for message in placed.elsewhere:
            form.add_error(None, breaks(message))
        return False


class RulebookAdmin:
    """A model admin whose change page the rulebook judges (see RulebookCheck)."""

    def rulebook_judge(self, form: Any, formsets: list) -> tuple:
        raise NotImplementedError

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        request._rulebook_form = form
        return super().save_form(request, form, change)

    def _create_formsets(self, request: HttpRequest, obj: Any, change: bool) -> tuple:
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        if request.method == "POST":
            formsets = [*formsets, RulebookCheck(request, formsets, self.rulebook_judge)]
        return formsets, inline_instances

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if not isinstance(formset, RulebookCheck):
            super().save_formset(request, form, formset, change)
