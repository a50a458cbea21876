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
  the last complete pass saw (kept in the cache; lost, the job checks every response). It
  stores ``EXPORT_STORE_PAGE`` responses per statement, each in its own transaction, so it
  holds no lock for long, and two jobs at once store the same rows twice but never a wrong one.
- A response's stored cells are deleted with it. ``EXPORT_STORED_CELLS`` off: nothing is
  stored, and exports make every cell. On SQLite nothing is stored (the Python writer makes
  the CSV there).

Space: a row is about as long as the response's line in the CSV (about 600 bytes for the
reference questionnaire: 600 MB at 1,000,000 responses).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from exports.exporters.base import ExportOptions
from exports.exporters.responses_wide import ResponsesWide
from survey.models import Questionnaire, Response
from wenji.background import run_here

logger = logging.getLogger(__name__)

STORE_TASK = "exports.store_cells"
ANALYZE_AFTER = 1000  # stored rows after which the table's statistics are made again


def answer_cells_store(*, questionnaire_id: int, every: bool = True) -> int:
    """Store the wide CSV's cells of the responses that have none made under the present
    stamp from their present answers; with ``every`` False, only of those after the newest
    response the last complete pass saw. Returns how many responses' cells were stored."""
    if not settings.EXPORT_STORED_CELLS or connection.vendor != "postgresql":
        return 0
    questionnaire = Questionnaire.objects.filter(pk=questionnaire_id).first()
    if questionnaire is None:
        return 0
    responses = Response.objects.filter(questionnaire=questionnaire)
    exporter = ResponsesWide(
        questionnaire=questionnaire, responses=responses, options=ExportOptions()
    )
    made = exporter.store_statement()
    if made is None:
        return 0
    statement, stamp = made
    key = _key(questionnaire_id)
    newest = responses.aggregate(newest=Max("id"))["newest"] or 0
    after = _seen(key, stamp) if not every else 0
    stored = 0
    page = settings.EXPORT_STORE_PAGE
    while True:
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
    if stored >= ANALYZE_AFTER:
        # The exports' plans join these rows page by page: planned on the statistics of a
        # table that was empty, each page sorted all of them (at 100,000 responses, 0.12 s
        # a page instead of an index lookup a row). Autovacuum would analyse it later.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE exports_answercells")
    _remember(key, stamp, newest)
    return stored


def answer_cells_dispatch(questionnaire_id: int, *, every: bool) -> None:
    """Have the cells stored: in this process when Celery is eager (in a thread with
    ``JOBS_IN_THREADS``), else by sending the task. A broker that is down is logged: the next
    run's job stores what this one would have, and exports make the cells meanwhile."""
    if not settings.EXPORT_STORED_CELLS or connection.vendor != "postgresql":
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_here(answer_cells_store, questionnaire_id=questionnaire_id, every=every)
        return
    try:
        current_app.send_task(STORE_TASK, args=[questionnaire_id, every], retry=False)
    except (BrokerError, RedisError, OSError) as exc:
        logger.warning("storing the cells of questionnaire %s not sent: %s", questionnaire_id, exc)


def after_run(sender: Any, *, run: Any, incremental: bool, **kwargs: Any) -> None:
    """``analysis.signals.run_done``: store the cells once the run's transaction commits."""
    transaction.on_commit(
        partial(answer_cells_dispatch, run.questionnaire_id, every=not incremental)
    )


def _key(questionnaire_id: int) -> str:
    return f"exports:cells:{questionnaire_id}"


def _seen(key: str, stamp: str) -> int:
    """The newest response the last complete pass under ``stamp`` saw; 0 if unknown."""
    try:
        seen = cache.get(key)
    except RedisError:
        return 0
    if isinstance(seen, list | tuple) and len(seen) == 2 and seen[0] == stamp:
        return int(seen[1])
    return 0


def _remember(key: str, stamp: str, newest: int) -> None:
    try:
        cache.set(key, (stamp, newest), timeout=None)
    except RedisError:
        logger.warning("the cells' last pass not remembered (cache unreachable)")
