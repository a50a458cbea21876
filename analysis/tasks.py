"""Celery tasks of the analysis: thin wrappers named after the services they call.

They take ids and plain values. ``analysis.new_data`` and ``analysis.definition_changed`` are
sent by name from ``survey.services.notify`` (``survey`` never imports ``analysis``);
``analysis.catch_up`` and ``analysis.reap`` are on the beat schedule (config/celery.py);
``analysis.run``, ``analysis.aggregate_chunk`` and ``analysis.finish`` are sent by
``analysis.services.runs``.
Failures are recorded on the run by the services; nothing here retries on its own (a run
interrupted by a transient error is requeued and sent again by the service, with a backoff).
"""

from __future__ import annotations

from celery import shared_task

from analysis.models import AnalysisRun
from analysis.services.runs import (
    analysis_catch_up,
    analysis_run_chunk,
    analysis_run_execute,
    analysis_run_finish,
    analysis_run_request,
    analysis_runs_reap,
)


@shared_task(name="analysis.new_data", ignore_result=True)
def new_data(questionnaire_id: int) -> int | None:
    """New responses were stored: queue a run (or keep the one already queued)."""
    run = analysis_run_request(
        questionnaire_id=questionnaire_id, trigger=AnalysisRun.Trigger.NEW_DATA
    )
    return run.pk if run else None


@shared_task(name="analysis.definition_changed", ignore_result=True)
def definition_changed(questionnaire_id: int) -> int | None:
    """Scores, segments, validity rules or option scores changed: queue a run."""
    run = analysis_run_request(
        questionnaire_id=questionnaire_id, trigger=AnalysisRun.Trigger.DEFINITION_CHANGE
    )
    return run.pk if run else None


@shared_task(name="analysis.run", ignore_result=True)
def run(run_id: int) -> None:
    analysis_run_execute(run_id=run_id)


@shared_task(name="analysis.aggregate_chunk")
def aggregate_chunk(*, run_id: int, attempt: int, low_id: int, high_id: int) -> int | None:
    """One chunk of a chord; returns the id of its stored partial (``AnalysisPartial``)."""
    return analysis_run_chunk(run_id=run_id, attempt=attempt, low_id=low_id, high_id=high_id)


@shared_task(name="analysis.finish", ignore_result=True)
def finish(partials: list[int | None], *, run_id: int, attempt: int) -> None:
    analysis_run_finish(run_id=run_id, attempt=attempt, partials=partials)


@shared_task(name="analysis.catch_up", ignore_result=True)
def catch_up() -> list[int]:
    return [requested.pk for requested in analysis_catch_up()]


@shared_task(name="analysis.reap", ignore_result=True)
def reap() -> dict[str, list[int]]:
    """On the beat schedule (every ANALYSIS_REAP_SECONDS): take up runs whose worker died."""
    return analysis_runs_reap()
