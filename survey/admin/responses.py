"""Responses in the admin: read-only review pages and spreadsheet exports of responses and
answer rows. Exports go through ``FormulaEscapingMixin`` like every other spreadsheet path.
Status decisions are made through the API or the results page (``response_set_status``), so
they are recorded; here they are only shown. Imported at the end of ``survey.admin``."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ExportMixin

from survey.labels import reason_labels
from survey.models import Answer, Response, StatusChange
from survey.resources import FormulaEscapingMixin


class ResponseResource(FormulaEscapingMixin, resources.ModelResource):
    questionnaire = fields.Field(attribute="questionnaire__slug", column_name="questionnaire")
    reasons = fields.Field(column_name="reasons")

    class Meta:
        model = Response
        fields = (
            "id",
            "questionnaire",
            "submission_id",
            "channel",
            "status",
            "reasons",
            "manual_status",
            "started_at",
            "submitted_at",
            "duration_seconds",
            "answers",
        )
        export_order = fields

    def dehydrate_reasons(self, response: Response) -> str:
        return " ".join(response.reasons)

    def dehydrate_answers(self, response: Response) -> str:
        return json.dumps(response.answers, ensure_ascii=False, sort_keys=True)


class AnswerResource(FormulaEscapingMixin, resources.ModelResource):
    question = fields.Field(attribute="question__code", column_name="question")
    item = fields.Field(attribute="item__code", column_name="item")
    option = fields.Field(attribute="option__code", column_name="option")

    class Meta:
        model = Answer
        fields = ("response", "question", "item", "option", "number", "text")
        export_order = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # every accepted submission is kept, even an invalid one


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    fields = ("changed_at", "changed_by", "from_status", "to_status", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("status decisions")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(ExportMixin, ReadOnlyAdmin):
    resource_classes = [ResponseResource]
    list_display = ("id", "questionnaire", "status", "reason_list", "channel", "submitted_at")
    list_filter = ("questionnaire", "status", "channel", "speeder", "attention_failed")
    list_select_related = ("questionnaire",)
    date_hierarchy = "submitted_at"
    search_fields = ("=submission_id",)
    exclude = ("ip_hash", "respondent", "validity_judged")
    inlines = (StatusChangeInline,)

    @admin.display(description=_("reasons"))
    def reason_list(self, response: Response) -> str:
        names = reason_labels()
        return "、".join(names.get(kind, kind) for kind in response.reasons) or "—"


@admin.register(Answer)
class AnswerAdmin(ExportMixin, ReadOnlyAdmin):
    resource_classes = [AnswerResource]
    list_display = ("response_id", "question", "item", "option", "number", "text")
    list_select_related = ("question", "item", "option")
    list_filter = ("question__questionnaire",)
    show_full_result_count = False
