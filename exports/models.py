"""Export jobs: every export made as a file (XLSX, SAV, or CSV asked for as a job) is a row.

An export goes queued → running → done | failed, and a done one → expired once its file is
deleted (``EXPORT_RETENTION_HOURS`` after it finished). See ``exports.services``.

The table keeps the name it had when exports were part of ``analysis`` (``analysis_export``):
the move to this app changed Django's state only (exports/migrations/0001_initial.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from survey.models import AuditEvent, Questionnaire, Response


class Export(models.Model):
    class Kind(models.TextChoices):
        RESPONSES_WIDE = "responses_wide", _("Responses, one row per response")
        RESPONSES_LONG = "responses_long", _("Responses, one row per answer")
        TABLES = "tables", _("Analysis tables, one row per figure")
        COMPARISONS = "comparisons", _("Segment comparisons (segment vs rest)")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        SAV = "sav", "SPSS (.sav)"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="exports"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=5, choices=Format.choices)
    # As exports.exporters.filters gives them back (as_dict): what was asked for.
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    responses = models.PositiveIntegerField(_("responses"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    # Relative to MEDIA_ROOT; empty until done and again once expired.
    file_path = models.CharField(_("file"), max_length=255, blank=True, default="")
    file_name = models.CharField(_("file name"), max_length=200, blank=True, default="")
    size = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exports",
        verbose_name=_("requested by"),
    )
    audit_event = models.ForeignKey(
        AuditEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        db_table = "analysis_export"
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="export_status_expires"),
            models.Index(fields=["questionnaire", "-created_at"], name="export_q_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed", "expired"]),
                name="export_status_known",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["responses_wide", "responses_long", "tables", "comparisons"]),
                name="export_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(format__in=["csv", "xlsx", "sav"]), name="export_format_known"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_le_100"),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(file_path=""), name="export_done_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.questionnaire_id} {self.kind}.{self.format} {self.status}"


class AnswerCells(models.Model):
    """A response's cells of the wide CSV, stored once made (``exports.cells``): its times and
    its answers' cells, finished (labels, escaping, quoting), for the export's default options.

    ``stamp`` names how they were made (``WideLines.stamp``: the cells' SQL and parameters) and
    ``answers_digest`` from which answers (the response's own digest, which follows its
    answers): an export reads a row only when both still match, and makes the cells itself
    otherwise. A response's row goes with it (deleting a response deletes its cells).
    """

    response = models.OneToOneField(
        Response, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    answers_digest = models.CharField(max_length=64)
    stamp = models.CharField(max_length=64)
    head = models.TextField()  # started, submitted, duration: "…,…,…"
    cells = models.TextField()  # the answers' cells, each after a comma: ",…,…"

    class Meta:
        verbose_name = _("stored export cells")
        verbose_name_plural = _("stored export cells")

    def __str__(self) -> str:
        return f"cells of response {self.response_id}"
