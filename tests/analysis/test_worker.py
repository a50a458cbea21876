"""The analysis on real Celery workers (subprocesses) against PostgreSQL and Redis.

Each test starts ``celery -A config worker -P prefork -c 2`` with DATABASE_URL pointing at the
test database pytest-django created (the tests commit: ``transaction=True``) and REDIS_URL at a
dedicated Redis database (WORKER_REDIS_DB on the server of REDIS_URL), or, for the broker-down
test, at a redis-server of its own that the test kills and restarts. The test process's Celery
app and cache are pointed at the same Redis for the duration of a test.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from kombu import pools

from analysis.models import AnalysisRun
from analysis.selectors import latest_successful_run
from analysis.services.runs import analysis_run_execute, analysis_run_request
from config.celery import app as celery_app
from survey.models import Response
from survey.services.responses import response_submit
from tests.analysis.generate import generate_responses
from tests.survey.answers import complete_answers

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

REPO = Path(__file__).resolve().parents[2]
CELERY = REPO / ".venv" / "bin" / "celery"
WORKER_REDIS_DB = 12
READY_TIMEOUT = 60
Status = AnalysisRun.Status


# --- plumbing: a Redis, the Celery app and cache pointed at it, workers ---------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dedicated_redis_url() -> str:
    parts = urlsplit(django_settings.REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{WORKER_REDIS_DB}", "", ""))


def _test_database_url() -> str:
    db = django_settings.DATABASES["default"]
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _reset_celery_connections() -> None:
    """Forget the connections to the old broker (kombu keeps pools per URL, globally)."""
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@contextlib.contextmanager
def _pointed_at(url: str, settings) -> Iterator[None]:
    """This process's Celery app (broker, results) and Django cache use ``url``."""
    keys = ("broker_url", "result_backend")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(broker_url=url, result_backend=url)
    _reset_celery_connections()
    settings.REDIS_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {
        "default": {
            "BACKEND": "wenji.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "wenji",
        }
    }
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _reset_celery_connections()


class RedisServer:
    """A redis-server of this test's own, on a free port, that the test may kill and restart."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_for(self._answers, 10, "redis-server to answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class Worker:
    """``celery -A config worker`` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        name = f"analysis-test-{uuid.uuid4().hex[:8]}@%h"
        command = [str(CELERY), "-A", "config", "worker", "-P", "prefork", "-c", "2"]
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
        command += ["-l", "INFO", "-n", name]
        self.log.write_text("")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(self._ready, READY_TIMEOUT, "the worker to be ready", self.tail)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.tail()}")
        return " ready." in self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def _wait_for(condition: Callable[[], object], timeout: float, what: str, log=None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{log()}" if log else ""))


@pytest.fixture
def start_worker(transactional_db, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start workers on a given Redis URL; every one is stopped when the test ends."""
    started: list[Worker] = []

    def start(
        redis_url: str, env_extra: dict[str, str] | None = None, **analysis_settings: int
    ) -> Worker:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=_test_database_url(),
            REDIS_URL=redis_url,
            CELERY_TASK_ALWAYS_EAGER="false",
            DEBUG="false",
            LOG_LEVEL="INFO",
        )
        env.update(
            {f"ANALYSIS_{key.upper()}": str(value) for key, value in analysis_settings.items()}
        )
        env.update(env_extra or {})
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def redis_url(settings) -> Iterator[str]:
    """The dedicated Redis database, emptied, with this process pointed at it."""
    url = _dedicated_redis_url()
    with _pointed_at(url, settings):
        cache.clear()  # FLUSHDB of the dedicated database only
        yield url


@pytest.fixture
def own_redis(settings, tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    try:
        with _pointed_at(server.url, settings):
            yield server
    finally:
        server.kill()


def watch(run_id: int, timeout: float, worker: Worker) -> list[tuple[str, int]]:
    """Poll the run's row until it ends; the distinct (status, progress) seen, in order."""
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = AnalysisRun.objects.filter(pk=run_id).values_list("status", "progress").get()
        if not seen or seen[-1] != row:
            seen.append(row)
        if row[0] in AnalysisRun.FINISHED:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish; seen {seen}\n{worker.tail()}")


def _wait_until_half_done(run: AnalysisRun, worker: Worker) -> None:
    def mid_run():
        row = AnalysisRun.objects.values_list("status", "chunks_done").get(pk=run.pk)
        return row[0] == Status.RUNNING and row[1] >= 1

    _wait_for(mid_run, 60, "the run to be half done", worker.tail)


def quietly_submit(questionnaire, count: int, settings, seed: int = 1) -> None:
    """Store responses without the new-data trigger (the test requests its runs itself)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True  # notify.py sends nothing without a broker
    generate_responses(questionnaire=questionnaire, count=count, seed=seed)
    settings.CELERY_TASK_ALWAYS_EAGER = False


def analysed_here(questionnaire, settings) -> AnalysisRun:
    """A run computed in this process (Celery eager), to compare the workers' result with."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    run = analysis_run_request(questionnaire_id=questionnaire.pk, trigger="manual", dispatch=False)
    analysis_run_execute(run_id=run.pk)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return AnalysisRun.objects.get(pk=run.pk)


# --- the tests ---------------------------------------------------------------------------------


def test_a_requested_run_goes_queued_running_done_on_real_workers(
    ipb, settings, redis_url, start_worker
):
    quietly_submit(ipb, 30, settings)
    worker = start_worker(redis_url, chunk_size=5, test_chunk_delay_ms=250)
    run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual")  # sent on commit
    seen = watch(run.pk, 60, worker)
    assert seen[0] == (Status.QUEUED, 0) or seen[0][0] == Status.RUNNING
    running = [progress for status, progress in seen if status == Status.RUNNING]
    assert len(running) >= 4, seen  # progress observed rising chunk by chunk
    assert running == sorted(running) and running[0] < running[-1]
    assert seen[-1] == (Status.DONE, 100), worker.tail()
    run.refresh_from_db()
    ids = Response.objects.filter(questionnaire=ipb).values_list("id", flat=True)
    chunks = len({pk // 5 for pk in ids})  # fixed ranges of 5 ids: 6 or 7 for 30 responses
    assert (run.chunks_total, run.chunks_done, run.attempts) == (chunks, chunks, 1)
    # The partials merged through Redis by the chord give what one process computes.
    assert run.results == analysed_here(ipb, settings).results


def test_new_submissions_are_analysed_by_the_workers_without_anyone_asking(
    ipb, settings, redis_url, start_worker
):
    worker = start_worker(redis_url)
    for _response in range(3):
        response_submit(
            questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="api"
        )

    def analysed_all():
        latest = latest_successful_run(ipb)
        return latest is not None and latest.counts["collected"] == 3

    _wait_for(analysed_all, 60, "the new data to be analysed", worker.tail)
    assert set(AnalysisRun.objects.values_list("trigger", flat=True)) == {"new_data"}
    assert not AnalysisRun.objects.exclude(status=Status.DONE).exists()


def test_a_worker_killed_mid_run_leaves_the_previous_results_and_the_run_is_retried(
    ipb, settings, redis_url, start_worker
):
    quietly_submit(ipb, 30, settings)
    previous = analysed_here(ipb, settings)
    stale = 3
    settings.ANALYSIS_STALE_SECONDS = stale
    options = {"chunk_size": 5, "test_chunk_delay_ms": 1500, "stale_seconds": stale}
    worker = start_worker(redis_url, **options)
    run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual")
    _wait_until_half_done(run, worker)
    worker.kill()

    time.sleep(stale + 1)  # nothing moves: the heartbeat goes stale
    run.refresh_from_db()
    assert run.status == Status.RUNNING and 20 < run.progress < 90
    assert latest_successful_run(ipb).pk == previous.pk  # readers still get the good results

    # A new worker takes the chunks the dead one had not fetched yet (they belong to attempt
    # 1); once nothing moves for ANALYSIS_STALE_SECONDS, beat's catch-up requeues the run.
    worker = start_worker(redis_url, **{**options, "test_chunk_delay_ms": 0})

    def beat_until_done():
        celery_app.send_task("analysis.catch_up")
        time.sleep(1)
        return AnalysisRun.objects.filter(pk=run.pk, status__in=AnalysisRun.FINISHED).exists()

    _wait_for(beat_until_done, 90, "the interrupted run to be retried", worker.tail)
    run.refresh_from_db()
    # Either the reaper requeued it (attempt 2), or the new worker got the dead one's
    # chunks redelivered first and attempt 1 finished: both end done, never stuck running.
    assert (run.status, run.progress) == (Status.DONE, 100)
    assert run.attempts in (1, 2)
    if run.attempts == 2:
        assert run.error == "the worker stopped responding during attempt 1"
    assert latest_successful_run(ipb).pk == run.pk
    assert run.results == previous.results  # same data, same tables


def test_beat_looks_for_stale_runs_often_enough_to_take_one_up_within_a_minute():
    schedule = {
        entry["task"]: entry["schedule"] for entry in celery_app.conf.beat_schedule.values()
    }
    assert schedule["analysis.reap"] == django_settings.ANALYSIS_REAP_SECONDS
    assert django_settings.ANALYSIS_STALE_SECONDS + django_settings.ANALYSIS_REAP_SECONDS <= 60


def test_a_run_whose_worker_was_killed_is_taken_up_within_a_minute_by_default(
    ipb, settings, redis_url, start_worker
):
    """SIGKILL a real worker mid-run with the default stale time; beat's reap (sent here every
    ANALYSIS_REAP_SECONDS, as beat does) takes the run up again within 60 seconds."""
    quietly_submit(ipb, 30, settings)
    analysed_here(ipb, settings)
    stale, every = settings.ANALYSIS_STALE_SECONDS, settings.ANALYSIS_REAP_SECONDS
    assert stale + every <= 60
    options = {"chunk_size": 5, "test_chunk_delay_ms": 4000}
    worker = start_worker(redis_url, **options)
    run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual")
    _wait_until_half_done(run, worker)
    worker.kill()
    killed = time.monotonic()
    worker = start_worker(redis_url, **{**options, "test_chunk_delay_ms": 0})

    def reaped():
        celery_app.send_task("analysis.reap")
        deadline = time.monotonic() + every
        while time.monotonic() < deadline:
            row = AnalysisRun.objects.values_list("status", "attempts").get(pk=run.pk)
            if row != (Status.RUNNING, 1):
                return row
            time.sleep(0.2)
        return None

    taken_up = _wait_for(reaped, 90, "the run to be taken up again", worker.tail)
    assert time.monotonic() - killed <= 60 + 5, taken_up  # 5 s for the reap task to arrive
    _wait_for(
        lambda: AnalysisRun.objects.filter(pk=run.pk, status=Status.DONE).exists(),
        60,
        "the run to finish",
        worker.tail,
    )


@pytest.mark.redis
def test_with_the_broker_down_submissions_succeed_and_the_catch_up_analyses_them(
    ipb, settings, own_redis, start_worker, caplog
):
    worker = start_worker(own_redis.url, stale_seconds=8)
    generate_responses(questionnaire=ipb, count=2, seed=1)
    _wait_for(lambda: latest_successful_run(ipb), 60, "the first analysis", worker.tail)
    # Within the first responses' debounce window, new data is covered by the delayed task
    # already sent: the missed signals below are those of a window after it.
    time.sleep(settings.ANALYSIS_DEBOUNCE_SECONDS)

    own_redis.kill()
    with caplog.at_level(logging.WARNING, logger="survey.services.notify"):
        generate_responses(questionnaire=ipb, count=3, seed=2)
    assert Response.objects.filter(questionnaire=ipb).count() == 5
    assert caplog.text.count("the scheduled catch-up will run it") == 3

    restarted = timezone.now()
    own_redis.start()
    beat = {"next": 0.0}

    def caught_up():
        """As beat does, the catch-up every few seconds, until a run after the outage has
        analysed all five. Usually the catch-up's own run; but a run requested just as Redis
        went away (the first responses' delayed trigger) is queued without its task, and the
        catch-up waits for it (the questionnaire is busy) until it is stale, then sends it
        again: that run analyses the new data instead."""
        if time.monotonic() >= beat["next"]:
            celery_app.send_task("analysis.catch_up")
            beat["next"] = time.monotonic() + 3
        latest = latest_successful_run(ipb)
        return latest.counts["collected"] == 5 and latest.finished_at >= restarted

    _wait_for(caught_up, 90, "the catch-up to analyse the new data", worker.tail)


def test_the_command_waits_for_the_workers_and_prints_their_progress(
    ipb, settings, redis_url, start_worker
):
    quietly_submit(ipb, 10, settings)
    start_worker(redis_url, chunk_size=2, test_chunk_delay_ms=800)
    out = io.StringIO()
    call_command("analysis_run", ipb.slug, "--wait", "--timeout", "60", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(": queued")
    assert any(line.endswith("running") for line in lines[1:])
    assert lines[-1].startswith("done: 10 collected")


def test_readyz_counts_live_workers_and_notices_a_stopped_or_killed_one(
    redis_url, start_worker, client
):
    def ready() -> tuple[int, dict]:
        answer = client.get("/readyz")
        return answer.status_code, answer.json()

    status, body = ready()
    assert status == 503 and body["checks"]["worker"] == "unavailable" and body["workers"] == 0
    worker = start_worker(redis_url, env_extra={"WORKER_ALIVE_SECONDS": "1"})
    status, body = ready()
    assert status == 200 and body["checks"] == {"database": "ok", "redis": "ok", "worker": "ok"}
    assert body["workers"] == 1
    worker.stop()  # a worker that stops says so
    assert ready()[0] == 503
    worker = start_worker(redis_url, env_extra={"WORKER_ALIVE_SECONDS": "1"})
    assert ready()[0] == 200
    worker.kill()  # a worker killed outright: its mark expires after three periods
    _wait_for(lambda: ready()[0] == 503, 10, "readyz to notice the killed worker")


@pytest.mark.redis
def test_a_worker_holding_tasks_when_redis_dies_lives_on(ipb, settings, own_redis, start_worker):
    """kombu hands unacknowledged tasks back through a connection it already tore down; that
    stopped the worker ("Unrecoverable error") in the soak bench. config.celery keeps it up."""
    quietly_submit(ipb, 40, settings)
    worker = start_worker(own_redis.url, chunk_size=5, test_chunk_delay_ms=800)
    run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual")
    _wait_until_half_done(run, worker)  # chunks delivered and not yet acknowledged
    own_redis.kill()
    time.sleep(3)
    own_redis.start()
    time.sleep(5)
    assert worker.process is not None and worker.process.poll() is None, worker.tail()
    assert "Unrecoverable error" not in worker.log.read_text(errors="replace")
    # and it takes tasks again (the reaper's, here: the run it held is beat's to take up)
    celery_app.send_task("analysis.reap")
    _wait_for(
        lambda: "Task analysis.reap[" in worker.log.read_text(errors="replace"),
        30,
        "the worker to take a task after the outage",
        worker.tail,
    )
