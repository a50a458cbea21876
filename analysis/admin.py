"""Admin for analysis runs (read-only rows), and the "re-run analysis" action on runs and on
questionnaires.

The questionnaire admin belongs to ``survey``, which must not import ``analysis``; the action is
added to it from here (``analysis`` comes after ``survey`` in INSTALLED_APPS, so its admin is
registered by the time this module is imported).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analysis.models import AnalysisRun
from analysis.services.runs import analysis_run_request
from survey.models import Questionnaire

RERUN_PERMISSION = "analysis.add_analysisrun"


def may_rerun(request: HttpRequest) -> bool:
    return request.user.has_perm(RERUN_PERMISSION)


def _rerun(model_admin: admin.ModelAdmin, request: HttpRequest, ids: Iterable[int]) -> None:
    for questionnaire_id in sorted(set(ids)):
        run = analysis_run_request(
            questionnaire_id=questionnaire_id,
            trigger=AnalysisRun.Trigger.MANUAL,
            requested_by=request.user,
        )
        if run is None:
            continue
        run.refresh_from_db(fields=["status", "progress"])  # eager: it ran on commit, just now
        message = gettext("Analysis run #%(id)s of %(questionnaire)s: %(status)s (%(progress)s%%).")
        values = {"id": run.pk, "questionnaire": run.questionnaire.slug}
        values |= {"status": run.get_status_display(), "progress": run.progress}
        model_admin.message_user(request, message % values, messages.SUCCESS)


@admin.action(description=_("Re-run analysis"), permissions=["rerun_analysis"])
def rerun_analysis(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Questionnaire]
) -> None:
    _rerun(model_admin, request, queryset.values_list("pk", flat=True))


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "questionnaire",
        "status",
        "trigger",
        "progress_percent",
        "attempts",
        "created_at",
        "finished_at",
        "requested_by",
    )
    list_filter = ("status", "trigger")
    search_fields = ("questionnaire__slug",)
    list_select_related = ("questionnaire", "requested_by")
    date_hierarchy = "created_at"
    actions = ("rerun_selected",)
    exclude = ("results",)
    readonly_fields = (
        "questionnaire",
        "status",
        "trigger",
        "progress",
        "requested_by",
        "definition_version",
        "created_at",
        "queued_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "attempts",
        "chunks_total",
        "chunks_done",
        "response_count",
        "last_response_id",
        "counts_pretty",
        "error",
        "results_summary",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AnalysisRun]:
        # Megabytes per row: loaded only by the one page that summarises them.
        return super().get_queryset(request).defer("results")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are requested (the action, the API, triggers), never typed in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a run's row is what happened: read-only

    def has_rerun_analysis_permission(self, request: HttpRequest) -> bool:
        return may_rerun(request)

    @admin.display(description=_("progress"), ordering="progress")
    def progress_percent(self, run: AnalysisRun) -> str:
        return f"{run.progress}%"

    @admin.display(description=_("counts"))
    def counts_pretty(self, run: AnalysisRun) -> str:
        text = json.dumps(run.counts, ensure_ascii=False, indent=2)
        return format_html("<pre>{}</pre>", text)

    @admin.display(description=_("results"))
    def results_summary(self, run: AnalysisRun) -> str:
        if run.results is None:
            return gettext("none")
        url = reverse("analysis-api:results", kwargs={"slug": run.questionnaire.slug})
        size = len(json.dumps(run.results)) // 1024 + 1
        summary = gettext("%(tables)s question tables, %(kb)s KB") % {
            "tables": len(run.results.get("questions", [])),
            "kb": size,
        }
        return format_html('{} — <a href="{}?run={}">JSON</a>', summary, url, run.pk)

    @admin.action(description=_("Re-run analysis"), permissions=["rerun_analysis"])
    def rerun_selected(self, request: HttpRequest, queryset: QuerySet[AnalysisRun]) -> None:
        _rerun(self, request, queryset.values_list("questionnaire_id", flat=True))


def _add_action_to_questionnaire_admin() -> None:
    try:
        questionnaire_admin = admin.site.get_model_admin(Questionnaire)
    except NotRegistered:
        return
    questionnaire_admin.actions = (*(questionnaire_admin.actions or ()), rerun_analysis)
    # The action's permission check, looked up on the admin as has_<name>_permission.
    questionnaire_admin.has_rerun_analysis_permission = may_rerun


_add_action_to_questionnaire_admin()
