"""Exports of responses: requested as a job (a file to download later) or streamed as CSV.

Promises:
- Every export is checked before anything is written: the kind, the format, each filter and
  option (``ExportInvalid`` names the field), and the identity option, which needs the
  ``survey.view_respondent_identity`` permission whatever the role (``ExportForbidden``).
- Every export is audited: an ``AuditEvent`` (action ``export``) with who, when, kind, format,
  filters, options and the number of responses is written in the same transaction as the
  request (or before a stream starts), and its row count is added once the rows are written.
- An export reads a snapshot: the responses matching the filters with ids up to the largest
  one at the start, so its count and its file agree even while submissions arrive.
- A job is claimed with a conditional update (queued → running); running a job that is not
  queued does nothing. It writes to ``<name>.part`` and renames the file only when complete:
  a download never sees half a file. Progress (0–100) moves as responses are read.
- A job that cannot be made as asked (too many rows for SAV or XLSX, a segment removed since
  the request) fails with ``error`` saying why; any other error fails it with a generic message
  and propagates, so the worker logs the traceback. No job stays ``running`` for longer than
  ``EXPORT_RETENTION_HOURS``: ``export_expire`` fails it.
- A done export's file is kept ``EXPORT_RETENTION_HOURS``; ``export_expire`` (on the beat
  schedule) then deletes it and marks the row ``expired``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from analysis.selectors import latest_successful_run
from exports.exporters import EXPORTERS
from exports.exporters.base import (
    VALUES_CODES,
    Exporter,
    ExportError,
    ExportOptions,
    ExportTooLarge,
    Progress,
    csv_chunks,
    write_csv,
    write_sav,
)
from exports.exporters.filters import (
    ExportInvalid,
    ResponseFilters,
    filters_parse,
    options_parse,
    responses_filtered,
)
from exports.models import Export
from survey.models import AuditEvent, Questionnaire, Response
from survey.services.audit import audit_event_add_details, audit_event_record
from wenji.background import run_here

logger = logging.getLogger(__name__)

IDENTITY_PERMISSION = "survey.view_respondent_identity"
RUN_TASK = "analysis.export_run"
EXPORTS_DIR = "exports"
PROGRESS_SECONDS = 1.0  # a job writes its progress at most this often
Status = Export.Status


class ExportForbidden(ExportError):
    code = "export_forbidden"


@dataclass(frozen=True)
class ExportPlan:
    """A checked request: what to export, from which responses, written how."""

    questionnaire: Questionnaire
    kind: str
    fmt: str
    filters: ResponseFilters
    options: ExportOptions


@dataclass(frozen=True)
class CsvStream:
    filename: str
    responses: int
    chunks: Iterator[bytes]


def may_see_identity(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(IDENTITY_PERMISSION))


def export_plan(
    *,
    questionnaire: Questionnaire,
    kind: Any,
    fmt: Any,
    filters: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
    user: AbstractBaseUser | AnonymousUser | None,
) -> ExportPlan:
    """Check a request; raises ``ExportInvalid`` or ``ExportForbidden`` saying what is wrong."""
    errors: dict[str, list[str]] = {}
    if kind not in EXPORTERS:
        errors["kind"] = [_("Use one of: %s.") % ", ".join(EXPORTERS)]
    if fmt not in Export.Format.values:
        errors["format"] = [_("Use one of: %s.") % ", ".join(Export.Format.values)]
    if errors:
        raise ExportInvalid(_("The export request needs attention."), errors)
    plan = ExportPlan(
        questionnaire=questionnaire,
        kind=kind,
        fmt=fmt,
        filters=filters_parse(filters),
        options=_for_format(fmt, options_parse(options, questionnaire=questionnaire)),
    )
    if plan.options.identity and not may_see_identity(user):
        message = _("You may not export respondent identities.")
        raise ExportForbidden(message, {"identity": [message]})
    exporter_class = EXPORTERS[kind]
    if not exporter_class.reads_responses and plan.filters != ResponseFilters():
        message = _(
            "The analysis tables cover the valid responses of the latest run; "
            "filters do not apply to them."
        )
        raise ExportInvalid(message, {"filters": [message]})
    exporter_class.check(questionnaire)
    responses_filtered(questionnaire=questionnaire, filters=plan.filters)  # checks the segment
    return plan


def _snapshot(plan: ExportPlan) -> tuple[QuerySet[Response] | None, int]:
    """The plan's responses up to the newest one now, and how many they are (one query).

    For an export of the analysis results: no responses, and the run's count of valid ones.
    """
    if not EXPORTERS[plan.kind].reads_responses:
        run = latest_successful_run(plan.questionnaire)
        return None, ((run.results or {}).get("base") or {}).get("valid", 0) if run else 0
    responses = responses_filtered(questionnaire=plan.questionnaire, filters=plan.filters)
    seen = responses.aggregate(count=Count("id"), last=Max("id"))
    if not seen["count"]:
        return Response.objects.none(), 0
    return responses.filter(id__lte=seen["last"]), seen["count"]


def _exporter(plan: ExportPlan, responses: QuerySet[Response] | None) -> Exporter:
    return EXPORTERS[plan.kind](
        questionnaire=plan.questionnaire, responses=responses, options=plan.options
    )


def _audit(plan: ExportPlan, user: Any, responses: int, **extra: Any) -> AuditEvent:
    details = {
        "kind": plan.kind,
        "format": plan.fmt,
        "filters": plan.filters.as_dict(),
        "options": plan.options.as_dict(),
        "responses": responses,
        **extra,
    }
    if not EXPORTERS[plan.kind].reads_responses:  # which results: the run's id
        run = latest_successful_run(plan.questionnaire)
        details["run_id"] = run.pk if run else None
    return audit_event_record(
        action=AuditEvent.Action.EXPORT,
        user=user,
        questionnaire=plan.questionnaire,
        details=details,
    )


def _file_name(plan: ExportPlan, exporter: Exporter) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return f"{exporter.filename_stem()}-{stamp}.{plan.fmt}"


# --- streaming ---------------------------------------------------------------------------------


def export_stream_csv(
    *,
    questionnaire: Questionnaire,
    kind: Any,
    filters: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
    user: AbstractBaseUser,
) -> CsvStream:
    """A CSV export to stream: constant memory, a fixed number of queries whatever the rows.

    The audit row is written now; its ``rows`` once the last chunk has been produced (a
    download broken off half-way has ``responses`` but no ``rows``).
    """
    plan = export_plan(
        questionnaire=questionnaire,
        kind=kind,
        fmt=Export.Format.CSV,
        filters=filters,
        options=options,
        user=user,
    )
    responses, count = _snapshot(plan)
    event = _audit(plan, user, count, streamed=True)
    exporter = _exporter(plan, responses)

    def chunks() -> Iterator[bytes]:
        written = 0

        def note(rows: int) -> None:
            nonlocal written
            written = rows

        yield from csv_chunks(exporter, progress=note)
        audit_event_add_details(event_id=event.pk, details={"rows": written})

    return CsvStream(filename=_file_name(plan, exporter), responses=count, chunks=chunks())


# --- jobs --------------------------------------------------------------------------------------


def export_request(
    *,
    questionnaire: Questionnaire,
    kind: Any,
    fmt: Any,
    filters: Mapping[str, Any] | None,
    user: AbstractBaseUser,
    options: Mapping[str, Any] | None = None,
) -> Export:
    """Queue an export job (its task is sent when the transaction commits) and audit it.

    Raises ``ExportInvalid``/``ExportForbidden``, and ``ExportTooLarge`` for an SPSS export of
    more responses than ``EXPORT_SAV_MAX_ROWS``.
    """
    plan = export_plan(
        questionnaire=questionnaire, kind=kind, fmt=fmt, filters=filters, options=options, user=user
    )
    _responses, count = _snapshot(plan)
    if plan.fmt == Export.Format.SAV and count > settings.EXPORT_SAV_MAX_ROWS:
        message = _(
            "These filters select %(count)s responses; an SPSS file holds at most %(limit)s "
            "here. Narrow the filters or export CSV."
        ) % {"count": f"{count:,}", "limit": f"{settings.EXPORT_SAV_MAX_ROWS:,}"}
        raise ExportTooLarge(message, {"format": [message]})
    with transaction.atomic():
        export = Export.objects.create(
            questionnaire=questionnaire,
            kind=plan.kind,
            format=plan.fmt,
            filters=plan.filters.as_dict(),
            options=plan.options.as_dict(),
            requested_by=user,
            responses=count,
        )
        event = _audit(plan, user, count, export_id=export.pk)
        Export.objects.filter(pk=export.pk).update(audit_event=event)
        export.audit_event = event
        transaction.on_commit(partial(export_dispatch, export.pk))
    return export


def export_dispatch(export_id: int) -> None:
    """Run the job in this process when Celery is eager (no broker; see
    ``wenji.background``), else send its task. A broker that
    cannot be reached fails the export with a message, rather than leaving it queued."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_here(export_run, export_id=export_id)
        return
    try:
        current_app.send_task(RUN_TASK, args=[export_id], retry=False)
    except (BrokerError, RedisError, OSError) as exc:
        logger.warning("export %s not sent: %s", export_id, exc)
        _fail(export_id, _("The export could not be queued (the job queue is unreachable)."))


def export_run(*, export_id: int) -> None:
    """Make the export's file; see the module's promises."""
    now = timezone.now()
    claimed = Export.objects.filter(pk=export_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, progress=0
    )
    if not claimed:
        return
    export = Export.objects.select_related("questionnaire", "requested_by").get(pk=export_id)
    settled = False
    try:
        _make_file(export)
        settled = True
    except ExportError as error:
        _fail(export_id, error.message)
        settled = True
    finally:
        if not settled:
            _fail(export_id, _("The export failed unexpectedly; the error is in the worker log."))


def _fail(export_id: int, message: str) -> None:
    Export.objects.filter(pk=export_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def _plan_of(export: Export) -> ExportPlan:
    questionnaire = export.questionnaire
    options = _for_format(export.format, options_parse(export.options, questionnaire=questionnaire))
    if options.identity and not may_see_identity(export.requested_by):
        raise ExportForbidden(_("The requester may no longer export respondent identities."))
    return ExportPlan(
        questionnaire=questionnaire,
        kind=export.kind,
        fmt=export.format,
        filters=filters_parse(export.filters),
        options=options,
    )


def _for_format(fmt: str, options: ExportOptions) -> ExportOptions:
    """An SPSS file holds codes, with the labels as value labels, whatever was asked."""
    if fmt == Export.Format.SAV and options.values != VALUES_CODES:
        return dataclasses.replace(options, values=VALUES_CODES)
    return options


def _progress_writer(export_id: int, exporter: Exporter, total: int) -> Progress:
    """A progress callback that writes the percentage of responses read, at most once per
    PROGRESS_SECONDS (a million rows must not cost a million UPDATEs)."""
    last = time.monotonic()

    def progress(_rows: int) -> None:
        nonlocal last
        if time.monotonic() - last < PROGRESS_SECONDS:
            return
        last = time.monotonic()
        percent = min(99, exporter.responses_done * 100 // total) if total else 99
        Export.objects.filter(pk=export_id, status=Status.RUNNING).update(progress=percent)

    return progress


def _make_file(export: Export) -> None:
    plan = _plan_of(export)
    responses, count = _snapshot(plan)
    exporter = _exporter(plan, responses)
    name = _file_name(plan, exporter)
    folder = Path(settings.MEDIA_ROOT) / EXPORTS_DIR / str(export.pk)
    folder.mkdir(parents=True, exist_ok=True)
    partial_path = folder / f"{name}.part"
    progress = _progress_writer(export.pk, exporter, count)
    final = folder / name
    written = False
    try:
        rows = _write(plan.fmt, exporter, partial_path, progress)
        os.replace(partial_path, final)
        written = True
    finally:
        if not written:
            shutil.rmtree(folder, ignore_errors=True)
    finished = timezone.now()
    Export.objects.filter(pk=export.pk, status=Status.RUNNING).update(
        status=Status.DONE,
        progress=100,
        responses=count,
        rows=rows,
        file_path=str(final.relative_to(settings.MEDIA_ROOT)),
        file_name=name,
        size=final.stat().st_size,
        finished_at=finished,
        expires_at=finished + timedelta(hours=settings.EXPORT_RETENTION_HOURS),
    )
    if export.audit_event_id:
        audit_event_add_details(
            event_id=export.audit_event_id, details={"rows": rows, "file": name}
        )


def _write(fmt: str, exporter: Exporter, path: Path, progress: Progress) -> int:
    if fmt == Export.Format.XLSX:
        return exporter.write_xlsx(path, progress)
    if fmt == Export.Format.SAV:
        return write_sav(exporter, path, max_rows=settings.EXPORT_SAV_MAX_ROWS, progress=progress)
    with path.open("wb") as stream:
        return write_csv(exporter, stream, progress=progress)


def export_file_path(export: Export) -> Path | None:
    """The done export's file, or None when it is not (or no longer) there."""
    if export.status != Status.DONE or not export.file_path:
        return None
    path = Path(settings.MEDIA_ROOT) / export.file_path
    return path if path.is_file() else None


# --- expiry ------------------------------------------------------------------------------------


def export_expire(*, now: datetime | None = None) -> int:
    """Delete the files of exports past ``expires_at`` and mark them expired; fail jobs that
    have been running longer than the retention (their worker is gone). Returns how many
    exports expired."""
    now = now or timezone.now()
    retention = timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    Export.objects.filter(status=Status.RUNNING, started_at__lt=now - retention).update(
        status=Status.FAILED,
        error=_("The export's worker stopped before finishing."),
        finished_at=now,
    )
    expired = 0
    due = Export.objects.filter(status=Status.DONE, expires_at__lte=now).only("id", "file_path")
    for export in due:
        folder = (Path(settings.MEDIA_ROOT) / export.file_path).parent
        if folder.name == str(export.pk) and folder.parent.name == EXPORTS_DIR:
            shutil.rmtree(folder, ignore_errors=True)
        expired += Export.objects.filter(pk=export.pk, status=Status.DONE).update(
            status=Status.EXPIRED, file_path=""
        )
    return expired
