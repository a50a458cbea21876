"""Stored cells of the wide CSV: each response's cells made once, read by every later export.

Making the wide CSV's cells from the answers' JSON (``exports.exporters.wide_sql``) is most of
an export's work, and the answers do not change once accepted. ``answer_cells_store`` stores
each response's finished cells (``AnswerCells``) for the export's default options; an export
on PostgreSQL then reads them back instead of making them (``WideLines.stored_statement``).

Promises:
- An export is the same bytes with or without stored cells, whatever is stored: a row is read
  only if it was made the way this export makes its cells (``stamp``: the cells' SQL and
  parameters, so labels, codes, language, time zone and escaping) and from the answers the
  response has now (``answers_digest``, which follows the answers). Any other row is ignored
  and the cells are made from the answers, as without storing.
- Only the cells that do not change once a response is in are stored: its times and its
  answers' cells. Its id, status, validity reasons, weight, quota and identity columns are
  made at each export, so a change of status or weight needs no new cells.
- Storing runs as a job after each analysis run (``exports.store_cells``, sent once the run
  ends): a full run's job checks every response (a changed definition changes the stamp, and
  every row is made again); an incremental run's job only the responses after the newest one
  the last complete pass under the same stamp saw (kept in the cache). With no such pass
  (a changed definition, a lost cache) it does nothing and leaves them to the next full run's
  job: one whole pass at a time, not one per submission. A response that commits after a
  newer one was seen is left to the next full run's job too. Celery beat's
  ``exports.store_cells_catch_up`` (every ``ANALYSIS_SCHEDULE_MINUTES``) starts a full pass
  for a questionnaire whose present stamp no complete pass or pass on its way has: labels
  edited (which asks for no analysis run), a lost cache.
- It stores ``EXPORT_STORE_PAGE`` responses per statement, each in its own transaction, so it
  holds no lock for long; two jobs at once store the same rows twice but never a wrong one. A
  task works for about ``EXPORT_STORE_SLICE_SECONDS`` and sends the rest of its pass as a new
  task, so the analysis runs asked meanwhile wait one slice, not the whole pass.
- A response's stored cells are deleted with it. ``EXPORT_STORED_CELLS`` off: nothing is
  stored, and exports make every cell. On SQLite nothing is stored (the Python writer makes
  the CSV there).

Space: about 800 bytes a response of the reference questionnaire (its CSV line is about 620):
80 MB per 100,000 responses.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from exports.exporters.base import ExportOptions
from exports.exporters.responses_wide import ResponsesWide
from exports.exporters.wide_sql import Paged
from survey.models import Questionnaire, Response
from wenji.background import run_here

logger = logging.getLogger(__name__)

STORE_TASK = "exports.store_cells"
RUNNING_FOR = 600  # seconds a pass cut into tasks is taken as on its way after its last slice


@dataclass(frozen=True)
class Stored:
    """What a call of ``answer_cells_store`` did: how many responses' cells it stored, and
    where the pass goes on (``resume``: give it back to the next call) if it stopped early."""

    count: int
    # [the last id done, the newest id when the pass began, the stamp it stores under]
    resume: list[Any] | None = None


def answer_cells_store(
    *,
    questionnaire_id: int,
    every: bool = True,
    resume: list[Any] | None = None,
    seconds: float | None = None,
) -> Stored:
    """Store the wide CSV's cells of the responses that have none made under the present
    stamp from their present answers; with ``every`` False, only of those after the newest
    response the last complete pass saw (none, when no pass is remembered). With ``seconds``,
    stop before a page that would end later than that (judged by the page before; at least
    one page is stored) and give back where to resume (``Stored.resume``)."""
    if not _stored_here():
        return Stored(0)
    questionnaire = Questionnaire.objects.filter(pk=questionnaire_id).first()
    made = _store_statement(questionnaire) if questionnaire is not None else None
    if made is None:
        return Stored(0)
    statement, stamp = made
    responses = Response.objects.filter(questionnaire=questionnaire)
    key = _key(questionnaire_id)
    if resume and resume[2] == stamp:
        after, newest = resume[0], resume[1]
    else:
        # A new pass; a pass whose definition changed on the way starts again from the first.
        after = 0 if every or resume else _seen(key, stamp)
        if after is None:  # no complete pass under this stamp: the next full one
            return Stored(0)
        newest = responses.aggregate(newest=Max("id"))["newest"] or 0
    stored = 0
    page = settings.EXPORT_STORE_PAGE
    started = time.monotonic()
    while True:
        page_started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            # As for the export's pages (exports.exporters.responses_wide._stream): the
            # statement is long and each row's work small, so JIT costs more than it saves.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(statement.sql, statement.params(after, page))
            count, seen, last = cursor.fetchone()
        stored += count
        if seen < page:
            break
        after = last
        now = time.monotonic()
        last_page = now - page_started
        if seconds is not None and now - started + last_page > seconds:
            _cache_call("set", _running(questionnaire_id), stamp, timeout=RUNNING_FOR)
            return Stored(stored, [after, newest, stamp])  # the next page would end past it
    _cache_call("set", key, (stamp, newest), timeout=None)
    _cache_call("delete", _running(questionnaire_id))
    return Stored(stored)


def answer_cells_catch_up() -> list[int]:
    """What Celery beat runs: a full pass for every questionnaire with responses whose last
    complete pass is not remembered under its present stamp and that has none on its way (an
    edit of labels, which asks for no analysis run; a lost cache). The ids sent for."""
    if not _stored_here():
        return []
    answered = Questionnaire.objects.filter(
        Exists(Response.objects.filter(questionnaire=OuterRef("pk")))
    )
    sent = []
    for questionnaire in answered:
        made = _store_statement(questionnaire)
        if made is None:
            continue
        stamp = made[1]
        if _seen(_key(questionnaire.pk), stamp) is not None:
            continue
        if _cache_call("get", _running(questionnaire.pk)) == stamp:
            continue
        answer_cells_dispatch(questionnaire.pk, every=True)
        sent.append(questionnaire.pk)
    return sent


def answer_cells_dispatch(
    questionnaire_id: int, *, every: bool, resume: list[Any] | None = None
) -> None:
    """Have the cells stored: in this process when Celery is eager (in a thread with
    ``JOBS_IN_THREADS``), else by sending the task. A broker that is down is logged: the next
    run's job stores what this one would have, and exports make the cells meanwhile."""
    if not _stored_here():
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_here(answer_cells_store, questionnaire_id=questionnaire_id, every=every)
        return
    try:
        current_app.send_task(STORE_TASK, args=[questionnaire_id, every, resume], retry=False)
    except (BrokerError, RedisError, OSError) as exc:
        logger.warning("storing the cells of questionnaire %s not sent: %s", questionnaire_id, exc)


def answer_cells_job(
    questionnaire_id: int, every: bool = True, resume: list[Any] | None = None
) -> int:
    """The task's body: a slice of at most about ``EXPORT_STORE_SLICE_SECONDS``, then the rest
    sent again as a new task, behind whatever was queued meanwhile (a worker that stores a
    million responses' cells still takes the analysis runs asked in between)."""
    done = answer_cells_store(
        questionnaire_id=questionnaire_id,
        every=every,
        resume=resume,
        seconds=settings.EXPORT_STORE_SLICE_SECONDS,
    )
    if done.resume is not None:
        answer_cells_dispatch(questionnaire_id, every=every, resume=done.resume)
    return done.count


def after_run(sender: Any, *, run: Any, incremental: bool, **kwargs: Any) -> None:
    """``analysis.signals.run_done``: store the cells once the run's transaction commits."""
    transaction.on_commit(
        partial(answer_cells_dispatch, run.questionnaire_id, every=not incremental)
    )


def _stored_here() -> bool:
    return settings.EXPORT_STORED_CELLS and connection.vendor == "postgresql"


def _store_statement(questionnaire: Questionnaire) -> tuple[Paged, str] | None:
    """The statement storing the questionnaire's cells for the default options, its stamp."""
    responses = Response.objects.filter(questionnaire=questionnaire)
    exporter = ResponsesWide(
        questionnaire=questionnaire, responses=responses, options=ExportOptions()
    )
    return exporter.store_statement()


def _key(questionnaire_id: int) -> str:
    """The cache key of the last complete pass: (its stamp, the newest id it saw)."""
    return f"exports:cells:{questionnaire_id}"


def _running(questionnaire_id: int) -> str:
    """The cache key of a pass on its way, cut into tasks: its stamp, for RUNNING_FOR."""
    return f"exports:cells:{questionnaire_id}:running"


def _seen(key: str, stamp: str) -> int | None:
    """The newest response the last complete pass under ``stamp`` saw; None if unknown."""
    seen = _cache_call("get", key)
    if isinstance(seen, list | tuple) and len(seen) == 2 and seen[0] == stamp:
        return int(seen[1])
    return None


def _cache_call(method: str, *args: Any, **kwargs: Any) -> Any:
    """A call of the cache that a cache out of reach turns into None (and a log line): what
    it keeps only spares work."""
    try:
        return getattr(cache, method)(*args, **kwargs)
    except RedisError as exc:
        logger.warning("stored export cells: cache %s failed (%s)", method, exc)
        return None
