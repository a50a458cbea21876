"""Analysis runs: request, claim, execute (in this process or as a Celery chord), finish,
fail, reap and catch up.

Promises:
- At most one queued and one running run per questionnaire, whatever the races (partial
  unique constraints); requesting a run while one is queued gives back the queued one.
- A worker claims a run with a conditional UPDATE (queued → running); a run that is not
  queued any more (running elsewhere, done, failed) is left alone: executing it again does
  nothing.
- Readers keep the previous done run until this one is done: the results document is written
  in the same UPDATE that marks the run done, and only by the attempt that still owns it.
- Every step and every chunk moves ``progress`` and ``heartbeat_at``. A run whose heartbeat is
  older than ANALYSIS_STALE_SECONDS lost its worker: ``analysis_runs_reap`` requeues it (up to
  ANALYSIS_MAX_ATTEMPTS attempts in all) or fails it. No run stays "running" forever.
- A failure is recorded on the run (``failed``, a readable ``error``) and then re-raised, so
  the worker log keeps the traceback. A transient one (database or broker unreachable, a lock
  timeout) puts the run back in the queue instead and sends it again after a backoff.
- Data or a definition change that arrives while a run is queued or running causes exactly
  one follow-up run.
- Tasks are sent after the transaction commits; a broker that is down never fails the caller:
  the run stays queued and the scheduled catch-up sends it again.
- A run for new data of an unweighted questionnaire, within ANALYSIS_FULL_EVERY_SECONDS of a
  full run under the same definition, recomputes only the chunks the data changed
  (``analysis.services.live``; marked ``incremental``); anything it cannot trust makes it a
  full run instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import chord, current_app, signature
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Count, Exists, F, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Least
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from analysis.models import AnalysisPartial, AnalysisRun
from analysis.services.aggregate import DefinitionChanged, merge_partials
from analysis.services.live import (
    changes_clear,
    chunk_partial,
    chunk_ranges,
    results_chunk_keep,
    results_refresh,
)
from analysis.services.tables import tables_build
from analysis.services.weighting import weights_recompute
from analysis.signals import run_done
from survey.models import Questionnaire, Response
from survey.services.validity import Refreshed, validity_refresh, validity_summary_of
from wenji.background import run_here

logger = logging.getLogger(__name__)

RUN_TASK = "analysis.run"
CHUNK_TASK = "analysis.aggregate_chunk"
FINISH_TASK = "analysis.finish"

Status = AnalysisRun.Status
Trigger = AnalysisRun.Trigger

# Progress milestones (percent). Chunks move it from CHUNKS_FROM to CHUNKS_TO.
STARTED, VALIDITY_DONE, CHUNKS_FROM, CHUNKS_TO, MERGING, DONE = 2, 15, 20, 90, 95, 100

# Worth another attempt: the database or the broker was briefly unreachable or locked, or
# the definition changed under the run (the next attempt reads the new one).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    DefinitionChanged,
    OperationalError,
    InterfaceError,
    BrokerError,
    RedisConnectionError,
    RedisTimeoutError,
)
_BROKER_ERRORS = (BrokerError, RedisError, OSError)

ProgressCallback = Callable[[int, str], None]


class RunLost(Exception):
    """This attempt no longer owns the run (reaped, requeued or failed elsewhere): stop."""


# --- requesting and dispatching ----------------------------------------------------------------


def analysis_run_request(
    *,
    questionnaire_id: int,
    trigger: str,
    requested_by: AbstractBaseUser | None = None,
    dispatch: bool = True,
) -> AnalysisRun | None:
    """The questionnaire's queued run: a new one, or the one already waiting (the debounce).

    A new run's task is sent when the surrounding transaction commits (with ``dispatch``).
    None when the questionnaire does not exist (a trigger for a deleted questionnaire).
    """
    if not Questionnaire.objects.filter(pk=questionnaire_id).exists():
        return None
    for _try in range(3):
        try:
            with transaction.atomic():
                run = AnalysisRun.objects.create(
                    questionnaire_id=questionnaire_id, trigger=trigger, requested_by=requested_by
                )
        except IntegrityError:
            queued = _queued_run(questionnaire_id)
            if queued is not None:
                return queued
            continue  # the queued run was claimed in between: the slot is free again
        if dispatch:
            transaction.on_commit(partial(analysis_run_dispatch, run.pk))
        return run
    raise RuntimeError(f"could not queue an analysis run for questionnaire {questionnaire_id}")


def _queued_run(questionnaire_id: int) -> AnalysisRun | None:
    return (
        AnalysisRun.objects.filter(questionnaire_id=questionnaire_id, status=Status.QUEUED)
        .defer("results")
        .first()
    )


def analysis_run_dispatch(run_id: int, *, countdown: float = 0) -> None:
    """Have the run executed: in this process when Celery is eager (no broker; in a thread
    with ``JOBS_IN_THREADS``, see ``wenji.background``), else by sending its task. A broker
    that is down is logged, not raised: the catch-up sends the run again."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_here(analysis_run_execute, run_id=run_id)
        return
    try:
        current_app.send_task(RUN_TASK, args=[run_id], countdown=countdown or None, retry=False)
    except _BROKER_ERRORS as exc:
        logger.warning(
            "analysis run %s not sent (%s); the scheduled catch-up will send it",
            run_id,
            exc.__class__.__name__,
        )


# --- one attempt of one run ------------------------------------------------------------------


class _Heartbeat:
    """Moves a run's heartbeat from a thread while the work goes on, so that one long step
    (a validity recompute over a million responses takes minutes) does not look like a lost
    worker. It stops when the work ends, and with the process when the worker dies."""

    def __init__(self, run_id: int, attempt: int) -> None:
        self.runs = AnalysisRun.objects.filter(pk=run_id, status=Status.RUNNING, attempts=attempt)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def _beat(self) -> None:
        interval = max(1.0, settings.ANALYSIS_STALE_SECONDS / 4)
        try:
            while not self.stopped.wait(interval):
                try:
                    if not self.runs.update(heartbeat_at=timezone.now()):
                        return  # finished, or no longer this attempt's
                except DatabaseError as exc:  # a locked SQLite file, a hiccup: next beat
                    logger.warning("analysis heartbeat missed: %s", exc)
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


class _Attempt:
    """One attempt at one run, as the process working on it sees it.

    ``update`` writes only while the run is still running under this attempt and raises
    ``RunLost`` otherwise. As a context manager it keeps the heartbeat going and records what
    ends the work: ``RunLost`` is swallowed (someone else owns the run now), a transient error
    requeues the run, anything else fails it; both are re-raised.
    """

    def __init__(self, run: AnalysisRun, on_progress: ProgressCallback | None = None) -> None:
        self.run = run
        self.attempt = run.attempts
        self.on_progress = on_progress
        self.heartbeat = _Heartbeat(run.pk, run.attempts)

    @classmethod
    def load(cls, run_id: int, attempt: int) -> _Attempt:
        run = AnalysisRun.objects.defer("results").filter(pk=run_id).first()
        if run is None or run.status != Status.RUNNING or run.attempts != attempt:
            raise RunLost(run_id)
        return cls(run)

    def _mine(self) -> QuerySet[AnalysisRun]:
        return AnalysisRun.objects.filter(
            pk=self.run.pk, status=Status.RUNNING, attempts=self.attempt
        )

    def update(self, *, note: str = "", **fields: Any) -> None:
        fields.setdefault("heartbeat_at", timezone.now())
        if not self._mine().update(**fields):
            raise RunLost(self.run.pk)
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self.run, name, value)
        if self.on_progress is not None and note:
            self.on_progress(self.run.progress, note)

    def chunk_done(self) -> None:
        span = CHUNKS_TO - CHUNKS_FROM
        done = F("chunks_done") + 1
        self.update(
            chunks_done=done,
            progress=Least(CHUNKS_FROM + done * span / F("chunks_total"), CHUNKS_TO),
        )
        if self.on_progress is not None:
            self.run.refresh_from_db(fields=["progress", "chunks_done", "chunks_total"])
            chunks = f"chunk {self.run.chunks_done}/{self.run.chunks_total}"
            self.on_progress(self.run.progress, chunks)

    def __enter__(self) -> _Attempt:
        self.heartbeat.__enter__()
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> bool:
        self.heartbeat.__exit__(exc_type, exc, tb)
        if exc is None:
            return False
        if isinstance(exc, RunLost):
            logger.info("analysis run %s attempt %s stopped: %s", self.run.pk, self.attempt, exc)
            return True
        if isinstance(exc, TRANSIENT_ERRORS) or not isinstance(exc, Exception):
            # Worth another attempt; so is a worker shutting down (SystemExit and the like).
            self._release(exc)
        else:
            self._fail(exc)
        return False

    def _release(self, exc: BaseException) -> None:
        error = _readable(exc)
        try:
            with transaction.atomic():
                released = self._mine().update(
                    status=Status.QUEUED, queued_at=timezone.now(), progress=0, error=error
                )
        except IntegrityError:  # a newer run is queued already: it will do the work
            self._fail(exc)
            return
        except DatabaseError:
            logger.warning("analysis run %s could not be requeued; the reaper will", self.run.pk)
            return
        if released and not settings.CELERY_TASK_ALWAYS_EAGER:
            analysis_run_dispatch(self.run.pk, countdown=5 * 2**self.attempt)

    def _fail(self, exc: BaseException) -> None:
        failed = self._mine().update(
            status=Status.FAILED, finished_at=timezone.now(), error=_readable(exc)
        )
        if failed:
            _follow_up(self.run)


def _readable(exc: BaseException) -> str:
    text = f"{exc.__class__.__name__}: {exc}".strip()
    return text[:2000]


# --- executing -------------------------------------------------------------------------------


def analysis_run_execute(
    *, run_id: int, on_progress: ProgressCallback | None = None, inline: bool = False
) -> AnalysisRun | None:
    """Claim the run and compute it: validity recompute, aggregation in chunks, tables.

    With Celery eager (no broker) or a single chunk everything happens here and the run comes
    back done; otherwise the chunks go to the workers as a chord and the run comes back
    running (``analysis.finish`` completes it); ``inline`` keeps every chunk in this process
    even with workers (the demo's set-up, a command run by hand). None when there was nothing
    to do: the run is not queued (taken, finished) or another run of the questionnaire is
    running (that one sends this one when it ends).
    """
    run = _claim(run_id)
    if run is None:
        return None
    with _Attempt(run, on_progress) as current:
        current.update(progress=STARTED, note="started")
        last_full = _last_full(run.questionnaire_id)
        if _refreshable(run, last_full) and _refresh(current, last_full):
            return AnalysisRun.objects.defer("results").filter(pk=run_id).first()
        _snapshot(current)
        changes_clear(questionnaire_id=run.questionnaire_id)  # this run reads everything
        refreshed = _validity(run, last_full)
        validity = refreshed.summary
        weighting = weights_recompute(questionnaire=run.questionnaire)
        if weighting is not None:  # recorded with the validity summary, the run's counts
            validity["weighting"] = weighting
        current.update(
            progress=VALIDITY_DONE,
            counts=validity,
            validity_inputs=refreshed.inputs,
            note="validity unchanged" if refreshed.skipped else "validity",
        )
        bounds = chunk_ranges(questionnaire_id=run.questionnaire_id)
        current.update(progress=CHUNKS_FROM, chunks_total=len(bounds), note="chunks planned")
        if inline or settings.CELERY_TASK_ALWAYS_EAGER or len(bounds) <= 1:
            _finish(current, (_aggregate(current, low, high) for low, high in bounds))
        else:
            _send_chord(current, bounds)
    return AnalysisRun.objects.defer("results").filter(pk=run_id).first()


def _last_full(questionnaire_id: int) -> dict[str, Any] | None:
    """The newest done full (not incremental) run: when it finished, under which definition
    version, its counts (the median duration and speeder threshold it judged by) and what
    its validity recompute read (``validity_inputs``)."""
    return (
        AnalysisRun.objects.filter(
            questionnaire_id=questionnaire_id, status=Status.DONE, incremental=False
        )
        .order_by("-finished_at", "-id")
        .values("finished_at", "definition_version", "counts", "validity_inputs")
        .first()
    )


def _validity(run: AnalysisRun, last_full: dict[str, Any] | None) -> Refreshed:
    """The validity step of a full run: the recompute, skipped when the rules and responses
    are as the last full run's recompute left them (``validity_refresh``), except on a
    person's request, which always recomputes."""
    last = None if run.trigger == Trigger.MANUAL else last_full
    refreshed = validity_refresh(
        questionnaire=run.questionnaire,
        last_summary=last["counts"] if last else None,
        last_inputs=last["validity_inputs"] if last else "",
    )
    if refreshed.skipped:
        logger.info("analysis run %s: validity unchanged since the last full run", run.pk)
    return refreshed


def _refreshable(run: AnalysisRun, last_full: dict[str, Any] | None) -> bool:
    """Whether new data may be analysed by recomputing only the chunks it changed, from
    ``last_full`` (``_last_full``): an unweighted questionnaire (raking moves every weight)
    whose last full run, of the same definition, is recent enough (a full run re-judges every
    response's validity)."""
    if run.trigger != Trigger.NEW_DATA or run.questionnaire.weighted or last_full is None:
        return False
    recent = timezone.now() - timedelta(seconds=settings.ANALYSIS_FULL_EVERY_SECONDS)
    return (
        last_full["finished_at"] >= recent
        and last_full["definition_version"] == run.questionnaire.definition_version
    )


def _refresh(current: _Attempt, last_full: dict[str, Any]) -> bool:
    """Live results: recompute the chunks that changed, merge, done (judged by the median
    duration and speeder threshold of ``last_full``). False when the stored chunks cannot be
    used (``results_refresh``): the caller goes on with a full run."""
    run = current.run
    _snapshot(current)
    refreshed = results_refresh(questionnaire_id=run.questionnaire_id)
    if refreshed is None:
        logger.info("analysis run %s: stored chunks unusable, running in full", run.pk)
        return False
    merged, counts = refreshed
    validity = {
        **(last_full["counts"] or {}),  # its median duration and speeder threshold
        **validity_summary_of(counts),
        "definition_version": run.questionnaire.definition_version,
    }
    current.update(progress=CHUNKS_TO, counts=validity, note="changed chunks")
    _done(current, merged, incremental=True)
    return True


def _claim(run_id: int) -> AnalysisRun | None:
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = AnalysisRun.objects.filter(
                pk=run_id, status=Status.QUEUED, attempts__lt=settings.ANALYSIS_MAX_ATTEMPTS
            ).update(
                status=Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
                attempts=F("attempts") + 1,
                progress=0,
                chunks_total=0,
                chunks_done=0,
            )
    except IntegrityError:  # another run of this questionnaire is running
        return None
    if not claimed:
        _give_up_if_exhausted(run_id, now)
        return None
    return AnalysisRun.objects.defer("results").select_related("questionnaire").get(pk=run_id)


def _give_up_if_exhausted(run_id: int, now: datetime) -> None:
    exhausted = AnalysisRun.objects.filter(
        pk=run_id, status=Status.QUEUED, attempts__gte=settings.ANALYSIS_MAX_ATTEMPTS
    )
    run = exhausted.defer("results").first()
    if run is None:
        return
    error = f"gave up after {run.attempts} attempts; last: {run.error or 'interrupted'}"
    if exhausted.update(status=Status.FAILED, finished_at=now, error=error[:2000]):
        _follow_up(run)


def _snapshot(current: _Attempt) -> None:
    """Record what the run is about to analyse, to tell later whether anything changed."""
    questionnaire_id = current.run.questionnaire_id
    seen = Response.objects.filter(questionnaire_id=questionnaire_id).aggregate(
        n=Count("id"), last=Max("id")
    )
    version = Questionnaire.objects.values_list("definition_version", flat=True).get(
        pk=questionnaire_id
    )
    current.update(
        response_count=seen["n"], last_response_id=seen["last"], definition_version=version
    )


def _aggregate(current: _Attempt, low_id: int, high_id: int) -> dict:
    if settings.ANALYSIS_TEST_CHUNK_DELAY_MS:
        time.sleep(settings.ANALYSIS_TEST_CHUNK_DELAY_MS / 1000)
    result = chunk_partial(
        questionnaire_id=current.run.questionnaire_id, low_id=low_id, high_id=high_id
    )
    current.chunk_done()
    return result


def _send_chord(current: _Attempt, bounds: list[tuple[int, int]]) -> None:
    owner = {"run_id": current.run.pk, "attempt": current.attempt}
    header = [
        signature(CHUNK_TASK, kwargs={**owner, "low_id": low, "high_id": high}, app=current_app)
        for low, high in bounds
    ]
    chord(header, app=current_app)(signature(FINISH_TASK, kwargs=owner, app=current_app))


def analysis_run_chunk(*, run_id: int, attempt: int, low_id: int, high_id: int) -> int | None:
    """One chunk's partial aggregates, stored as an ``AnalysisPartial``; its id goes to the
    chord. None when the attempt lost the run."""
    try:
        current = _Attempt.load(run_id, attempt)
    except RunLost:
        return None
    with current:
        partial = _aggregate(current, low_id, high_id)
        return AnalysisPartial.objects.create(run_id=run_id, attempt=attempt, data=partial).pk
    return None  # RunLost inside: the context swallowed it


def analysis_run_finish(*, run_id: int, attempt: int, partials: list[int | None]) -> None:
    """The chord's end: merge the chunks' partials (their ``AnalysisPartial`` ids, read one at
    a time), build the tables, mark the run done."""
    try:
        current = _Attempt.load(run_id, attempt)
    except RunLost:
        return
    with current:
        if any(part is None for part in partials):
            raise RunLost(f"{run_id}: a chunk found the run taken over")
        stored = AnalysisPartial.objects.filter(run_id=run_id, attempt=attempt)
        _finish(current, (stored.values_list("data", flat=True).get(pk=pk) for pk in partials))


def _finish(current: _Attempt, partials: Iterable[dict]) -> None:
    """Merge the partials as they come (one held at a time), build the tables, mark done."""
    questionnaire_id = current.run.questionnaire_id
    merged = merge_partials([])
    for part in partials:
        merged = merge_partials([merged, part])
        results_chunk_keep(questionnaire_id=questionnaire_id, partial=part)
    _done(current, merged)


def _done(current: _Attempt, merged: dict, *, incremental: bool = False) -> None:
    current.update(progress=MERGING, note="merging")
    results = tables_build(
        questionnaire_id=current.run.questionnaire_id, merged=merged, validity=current.run.counts
    )
    current.update(
        status=Status.DONE,
        progress=DONE,
        finished_at=timezone.now(),
        results=results,
        incremental=incremental,
        note="done",
    )
    _prune_results(current.run.questionnaire_id)
    run_done.send(AnalysisRun, run=current.run, incremental=incremental)
    _follow_up(current.run)


def _prune_results(questionnaire_id: int) -> None:
    """Clear the results of done runs beyond the newest ANALYSIS_KEEP_RESULTS."""
    old = (
        AnalysisRun.objects.filter(
            questionnaire_id=questionnaire_id, status=Status.DONE, results__isnull=False
        )
        .order_by("-finished_at", "-id")
        .values_list("pk", flat=True)[settings.ANALYSIS_KEEP_RESULTS :]
    )
    stale = list(old)
    if stale:
        AnalysisRun.objects.filter(pk__in=stale).update(results=None)
    # Partials are needed only until their run's merge; a failed run's are left behind too.
    AnalysisPartial.objects.filter(
        run__questionnaire_id=questionnaire_id, run__status__in=AnalysisRun.FINISHED
    ).delete()


def _follow_up(run: AnalysisRun) -> None:
    """After a run ends: send the queued run it held back, or request one when responses or
    the definition changed while it ran (a trigger can be debounced away: this cannot)."""
    queued = _queued_run(run.questionnaire_id)
    if queued is not None:
        transaction.on_commit(partial(analysis_run_dispatch, queued.pk))
        return
    if run.response_count is None:
        return  # it failed before looking at the data: nothing to compare with
    now = _state(run.questionnaire_id)
    if now is None:
        return
    if now["version"] != run.definition_version:
        trigger = Trigger.DEFINITION_CHANGE
    elif (now["n"], now["last"]) != (run.response_count, run.last_response_id):
        trigger = Trigger.NEW_DATA
    else:
        return
    analysis_run_request(questionnaire_id=run.questionnaire_id, trigger=trigger)


def _state(questionnaire_id: int) -> dict | None:
    version = (
        Questionnaire.objects.filter(pk=questionnaire_id)
        .values_list("definition_version", flat=True)
        .first()
    )
    if version is None:
        return None
    seen = Response.objects.filter(questionnaire_id=questionnaire_id).aggregate(
        n=Count("id"), last=Max("id")
    )
    return {"version": version, **seen}


# --- reaping and catching up -----------------------------------------------------------------


def analysis_runs_reap(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Requeue (or fail, after the last attempt) every running run whose heartbeat stopped,
    and send again every queued run that waited longer than ANALYSIS_STALE_SECONDS (its task
    was lost, say the broker was down). Returns the run ids by what happened to them."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ANALYSIS_STALE_SECONDS)
    outcome: dict[str, list[int]] = {"requeued": [], "failed": [], "resent": []}
    stale = AnalysisRun.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
    for run in stale.defer("results"):
        mine = stale.filter(pk=run.pk, attempts=run.attempts)
        error = f"the worker stopped responding during attempt {run.attempts}"
        if run.attempts < settings.ANALYSIS_MAX_ATTEMPTS and _requeue(mine, now, error):
            outcome["requeued"].append(run.pk)
            transaction.on_commit(partial(analysis_run_dispatch, run.pk))
        elif mine.update(status=Status.FAILED, finished_at=now, error=error):
            outcome["failed"].append(run.pk)
            _follow_up(run)
    waiting = AnalysisRun.objects.filter(status=Status.QUEUED, queued_at__lt=cutoff)
    for run_id in waiting.values_list("pk", flat=True):
        if waiting.filter(pk=run_id).update(queued_at=now):
            outcome["resent"].append(run_id)
            transaction.on_commit(partial(analysis_run_dispatch, run_id))
    return outcome


def _requeue(runs: QuerySet[AnalysisRun], now: datetime, error: str) -> bool:
    try:
        with transaction.atomic():
            return bool(runs.update(status=Status.QUEUED, queued_at=now, progress=0, error=error))
    except IntegrityError:  # a newer run is queued: let that one do the work
        return False


def analysis_catch_up(*, now: datetime | None = None) -> list[AnalysisRun]:
    """What Celery beat runs: reap stale runs, then request a run for every questionnaire whose
    responses or definition changed since its latest finished run (or that has responses and
    was never analysed). A questionnaire whose latest run failed on the same data and
    definition is left for a person (no retry loop). Returns the runs requested."""
    analysis_runs_reap(now=now)
    requested = []
    for questionnaire_id in _questionnaires_behind():
        run = analysis_run_request(questionnaire_id=questionnaire_id, trigger=Trigger.SCHEDULE)
        if run is not None:
            requested.append(run)
    return requested


def _questionnaires_behind() -> list[int]:
    seen = {
        row["questionnaire_id"]: (row["n"], row["last"])
        for row in Response.objects.values("questionnaire_id").annotate(
            n=Count("id"), last=Max("id")
        )
    }
    finished = AnalysisRun.objects.filter(
        questionnaire=OuterRef("pk"), status__in=AnalysisRun.FINISHED
    ).order_by("-finished_at", "-id")
    active = AnalysisRun.objects.filter(
        questionnaire=OuterRef("pk"), status__in=[Status.QUEUED, Status.RUNNING]
    )
    rows = (
        Questionnaire.objects.filter(pk__in=list(seen))
        .annotate(
            run_n=Subquery(finished.values("response_count")[:1]),
            run_last=Subquery(finished.values("last_response_id")[:1]),
            run_version=Subquery(finished.values("definition_version")[:1]),
            busy=Exists(active),
        )
        .values("pk", "definition_version", "run_n", "run_last", "run_version", "busy")
    )
    return [
        row["pk"]
        for row in rows
        if not row["busy"]
        and (
            (row["run_n"], row["run_last"]) != seen[row["pk"]]
            or row["run_version"] != row["definition_version"]
        )
    ]
