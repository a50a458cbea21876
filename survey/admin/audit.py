"""The audit trail in the admin: read-only, for admins (superusers, or staff given the view
permission). Imported at the end of ``survey.admin``."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from survey.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "actor_name", "questionnaire_slug", "summary")
    list_filter = ("action", "at")
    search_fields = ("actor__username", "questionnaire__slug")
    list_select_related = ("actor", "questionnaire")
    date_hierarchy = "at"
    readonly_fields = ("at", "action", "actor", "questionnaire", "details_pretty")
    exclude = ("details",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # events are recorded by the services, never typed in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an audit trail that can be edited away is not one

    @admin.display(description=_("who"), ordering="actor__username")
    def actor_name(self, event: AuditEvent) -> str:
        return event.details.get("actor") or "—"

    @admin.display(description=_("questionnaire"), ordering="questionnaire__slug")
    def questionnaire_slug(self, event: AuditEvent) -> str:
        return event.details.get("questionnaire") or "—"

    @admin.display(description=_("summary"))
    def summary(self, event: AuditEvent) -> str:
        details = event.details
        if event.action == AuditEvent.Action.EXPORT:
            rows = details.get("rows")
            counted = "…" if rows is None else rows
            return f"{details.get('kind')} {details.get('format')}, {counted} rows"
        shown = {k: v for k, v in details.items() if k not in {"actor", "questionnaire"}}
        return ", ".join(f"{k}={v}" for k, v in shown.items())

    @admin.display(description=_("details"))
    def details_pretty(self, event: AuditEvent) -> str:
        text = json.dumps(event.details, ensure_ascii=False, indent=2, default=str)
        return format_html("<pre>{}</pre>", text)
