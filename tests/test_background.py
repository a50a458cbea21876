"""Jobs in the web process without a worker: inline by default, in a thread when
JOBS_IN_THREADS is on (``wenji up``), so that the caller answers at once and the page can
follow the job; a run requested that way finishes with its progress recorded."""

from __future__ import annotations

import threading
import time

import pytest

from analysis.models import AnalysisRun
from tests.analysis.jobs import submit
from wenji.background import run_here


def test_by_default_the_job_is_over_when_the_call_returns(settings):
    settings.JOBS_IN_THREADS = False
    seen: list[str] = []
    assert run_here(lambda name: seen.append(name), name="inline") is None
    assert seen == ["inline"]


def test_in_threads_the_call_returns_while_the_job_still_runs(settings):
    settings.JOBS_IN_THREADS = True
    release, seen = threading.Event(), []

    def job(*, name: str) -> None:
        release.wait(10)
        seen.append((name, threading.current_thread().name))

    thread = run_here(job, name="threaded")
    assert thread is not None and thread.is_alive() and seen == []
    release.set()
    thread.join(10)
    assert seen == [("threaded", "job-job")]


def test_a_job_failing_in_its_thread_is_logged_with_its_traceback(settings, caplog):
    settings.JOBS_IN_THREADS = True

    def broken() -> None:
        raise ValueError("the reason")

    thread = run_here(broken)
    assert thread is not None
    thread.join(10)
    failure = next(r for r in caplog.records if r.name == "wenji.background")
    assert "broken" in failure.getMessage() and failure.exc_info[0] is ValueError


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_requested_from_the_api_answers_at_once_and_finishes_in_its_thread(
    ipb, settings, make_user, client_for
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.JOBS_IN_THREADS = True
    settings.ANALYSIS_TEST_CHUNK_DELAY_MS = 1500  # long enough to be seen mid-way
    submit(ipb, 12, seed=3)
    api = client_for(make_user("analyst", "analyst", grants=(ipb,)))
    answered = api.post(f"/api/v1/questionnaires/{ipb.slug}/analysis/runs/")
    assert answered.status_code == 202
    assert answered.json()["status"] in ("queued", "running")  # not finished in the request
    url, progress, deadline = answered.json()["url"], set(), time.monotonic() + 30
    while time.monotonic() < deadline:
        polled = api.get(url).json()
        progress.add(polled["progress"])
        if polled["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert polled["status"] == "done", polled
    assert [p for p in progress if 0 < p < 100], progress  # seen part-way
    run = AnalysisRun.objects.get(pk=polled["id"])
    assert run.counts["collected"] == 12
