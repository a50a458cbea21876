"""Analysis runs: every recomputation of a questionnaire's results is a row.

A run goes queued → running → done | failed. The database keeps at most one queued and one
running run per questionnaire (partial unique constraints): the queued one is the debounce
(new data while a run is queued needs no second run), the running one is the lock. Readers
always get the newest *done* run (``analysis.selectors.latest_successful_run``), so a failed
or half-finished run never replaces good results. See ``analysis.services.runs``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from survey.models import Questionnaire


class AnalysisRun(models.Model):
    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Requested by a person")
        NEW_DATA = "new_data", _("New responses")
        DEFINITION_CHANGE = "definition_change", _("Definition changed")
        SCHEDULE = "schedule", _("Scheduled catch-up")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.DONE, Status.FAILED)

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="analysis_runs"
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="analysis_runs",
        verbose_name=_("requested by"),
    )
    # The definition the run read (set when it starts): results belong to this version.
    definition_version = models.PositiveIntegerField(_("definition version"), null=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # When the run was last put in the queue (created or requeued): a queued run whose task
    # was lost (broker down) is sent again once this is older than ANALYSIS_STALE_SECONDS.
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Moved by every step and every chunk; a running run whose heartbeat is older than
    # ANALYSIS_STALE_SECONDS has lost its worker and is requeued or failed by the reaper.
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # What the run saw when it started; newer data makes the catch-up or a follow-up run.
    response_count = models.PositiveIntegerField(_("responses seen"), null=True, blank=True)
    last_response_id = models.BigIntegerField(null=True, blank=True)
    # The validity summary (collected, valid, invalid, invalid_by_reason, flagged, ...).
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    # What the validity recompute read and left (survey.services.validity.validity_refresh):
    # the next full run skips the recompute while they are unchanged. "" when not known.
    validity_inputs = models.CharField(max_length=100, blank=True, default="", editable=False)
    # The results document of analysis.services.tables.tables_build; null until done, and
    # cleared on old runs beyond ANALYSIS_KEEP_RESULTS.
    results = models.JSONField(_("results"), null=True, blank=True)
    # Only the chunks that changed were recomputed (live results), validity not re-judged.
    incremental = models.BooleanField(_("incremental"), default=False)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("analysis run")
        verbose_name_plural = _("analysis runs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["questionnaire", "status", "-finished_at"], name="analysis_run_latest"
            ),
            models.Index(fields=["status", "heartbeat_at"], name="analysis_run_status_beat"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire"],
                condition=Q(status="queued"),
                name="analysis_run_one_queued_per_questionnaire",
            ),
            models.UniqueConstraint(
                fields=["questionnaire"],
                condition=Q(status="running"),
                name="analysis_run_one_running_per_questionnaire",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="analysis_run_status_known",
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=["manual", "new_data", "definition_change", "schedule"]),
                name="analysis_run_trigger_known",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="analysis_run_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.questionnaire_id} {self.status} {self.progress}%"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class AnalysisPartial(models.Model):
    """One chunk's partial aggregates (``analysis.services.aggregate``), kept until the run's
    chord merges them. Through the database rather than the chord's result list, so the merge
    reads one partial at a time: a worker's memory stays the same whatever the chunk count."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="partials")
    attempt = models.PositiveSmallIntegerField()
    data = models.JSONField()

    class Meta:
        verbose_name = _("analysis partial")
        verbose_name_plural = _("analysis partials")

    def __str__(self) -> str:
        return f"run {self.run_id} attempt {self.attempt} partial {self.pk}"


class ResultsChunk(models.Model):
    """The partial aggregates (``analysis.services.aggregate``) of one fixed range of response
    ids of a questionnaire: ids ``index * size`` to ``(index + 1) * size - 1``.

    Kept between runs, so that new data recomputes only the chunks it falls in and merges them
    with the others (``analysis.services.live``). A full run replaces them all."""

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="results_chunks"
    )
    index = models.PositiveIntegerField()
    size = models.PositiveIntegerField()  # ids per chunk when computed
    data = models.JSONField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("results chunk")
        verbose_name_plural = _("results chunks")
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "index"], name="results_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"questionnaire {self.questionnaire_id} chunk {self.index}"


class ReportEdit(models.Model):
    """An analyst's rewrite of one finding of the drafted report (``analysis.services.report``).

    Keyed by what the finding is about (``key``), in one language and one filter scope, so it
    survives every re-run in which that finding still exists. ``figures`` are the numbers the
    draft stated when the analyst rewrote it: when a later run states others, the page flags
    the rewrite for a second look instead of silently keeping stale numbers.
    """

    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="report_edits",
        verbose_name=_("questionnaire"),
    )
    language = models.CharField(_("language"), max_length=16)
    scope = models.CharField(
        _("filters"), max_length=512, blank=True, help_text=_("Empty: all valid responses.")
    )
    key = models.CharField(_("finding"), max_length=200)
    text = models.TextField(_("text"))
    figures = models.CharField(_("figures when edited"), max_length=1000, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("edited by"),
    )
    edited_at = models.DateTimeField(_("edited at"), default=timezone.now)

    class Meta:
        verbose_name = _("report edit")
        verbose_name_plural = _("report edits")
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "language", "scope", "key"], name="report_edit_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} {self.language} {self.key}"
