"""Soak: collecting through a worker crash and a Redis outage loses nothing and answers no 5xx.

    .venv/bin/python bench/soak/run.py [--minutes 10] [--clients 16] [--quick]

Starts, on 127.0.0.1, a redis-server of its own (so that it can be killed), gunicorn (the
production settings of gunicorn.conf.py) and one Celery worker against PostgreSQL (database
``wenji_bench_soak``, recreated), then 16 clients submit complete reference-questionnaire
answers to the collector API without pause. A client that gets no answer (a connection
error) sends the same submission again, as a real collector app does: submission ids make
retries safe. Inside the run:

- at 30% of it the Celery worker is killed with SIGKILL (mid-analysis: new responses keep
  asking for runs), and a new one is started 10 s later;
- at 60% the redis-server is killed, and restarted 20 s later.

At the end it waits for the analysis to catch up and prints: submissions accepted (201/200,
distinct ids) against rows stored (lost must be 0), the 5xx count (must be 0), p50/p99
latency, the rate, and whether the last analysis run saw every stored response; then one
JSON line. ``--quick`` runs 2 minutes with shorter outages. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ingest.run import (  # noqa: E402  (after the path is set)
    PG,
    SLUG,
    environment,
    free_port,
    prepare,
    recreate_database,
    start_gunicorn,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--db", default="wenji_bench_soak")
    parser.add_argument("--quick", action="store_true", help="2 minutes, shorter outages")
    return parser.parse_args()


class Redis:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log, self.process = port, log, None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            command, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """One worker with beat inside it (-B: the catch-up and the reaper run as in production)."""
    command = [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "-P", "prefork"]
    command += ["-c", "2", "-l", "WARNING", "-n", f"soak-{uuid.uuid4().hex[:6]}@%h"]
    command += ["-B", "-s", str(log.parent / "beat-schedule")]
    return subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: set[str] = set()
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.retries = 0


def client(port: int, token: str, answers: list[dict], stop: threading.Event, tally: Tally) -> None:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    path = f"/api/v1/questionnaires/{SLUG}/submissions/"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    index = 0
    while not stop.is_set():
        submission_id = str(uuid.uuid4())
        body = json.dumps(
            {"submission_id": submission_id, "answers": answers[index % len(answers)]}
        ).encode()
        index += 1
        while not stop.is_set():  # the same submission until the server answers
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with tally.lock:
                    tally.retries += 1
                time.sleep(0.05)
                continue
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.latencies.append(elapsed)
                tally.statuses[response.status] = tally.statuses.get(response.status, 0) + 1
                if response.status in (200, 201):
                    tally.accepted.add(submission_id)
            break


def stored(db: str) -> tuple[int, set[str]]:
    import psycopg

    with psycopg.connect(f"{PG}/{db}") as conn:
        rows = conn.execute("SELECT submission_id::text FROM survey_response").fetchall()
    return len(rows), {row[0] for row in rows}


def last_run(db: str) -> tuple[str, int | None]:
    import psycopg

    with psycopg.connect(f"{PG}/{db}") as conn:
        row = conn.execute(
            "SELECT status, (counts->>'collected')::int FROM analysis_analysisrun "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return (row[0], row[1]) if row else ("none", None)


def main() -> None:
    args = parse_args()
    minutes = 2.0 if args.quick else args.minutes
    worker_down, redis_down = (5, 10) if args.quick else (10, 20)
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"wenji-soak-{uuid.uuid4().hex[:6]}"
    logs.mkdir(parents=True)
    redis = Redis(free_port(), logs / "redis.log")
    redis.start()
    env = environment(args.db)  # the ingest bench's, on our own Redis and with beat's pace
    env.update(
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        ANALYSIS_DEBOUNCE_SECONDS="5",
        ANALYSIS_SCHEDULE_MINUTES="1",
    )
    os.environ.update(env)
    recreate_database(args.db)
    token, _questionnaire_id, answers = prepare(env, 2000)
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.threads)
    worker = start_worker(env, logs / "worker.log")
    tally, stop = Tally(), threading.Event()
    threads = [
        threading.Thread(target=client, args=(port, token, answers, stop, tally))
        for _ in range(args.clients)
    ]
    events: list[str] = []
    started = time.monotonic()
    duration = minutes * 60

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + duration * fraction - time.monotonic()))

    try:
        for thread in threads:
            thread.start()
        at(0.3)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        events.append(f"{time.monotonic() - started:.0f}s worker SIGKILL")
        time.sleep(worker_down)
        worker = start_worker(env, logs / "worker.log")
        events.append(f"{time.monotonic() - started:.0f}s worker restarted")
        at(0.6)
        redis.kill()
        events.append(f"{time.monotonic() - started:.0f}s redis killed")
        time.sleep(redis_down)
        redis.start()
        events.append(f"{time.monotonic() - started:.0f}s redis restarted")
        at(1.0)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        count, ids = stored(args.db)
        # the analysis catches up: a run after the last response sees every one of them
        deadline = time.monotonic() + 180
        status, seen = last_run(args.db)
        while time.monotonic() < deadline and not (status == "done" and seen == count):
            time.sleep(2)
            status, seen = last_run(args.db)
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        with_worker = worker.poll() is None
        if with_worker:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        redis.kill()
    lost = len(tally.accepted - ids)
    five_xx = sum(n for status_code, n in tally.statuses.items() if status_code >= 500)
    latencies = sorted(tally.latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    print(
        f"soak: {elapsed / 60:.1f} min, {args.clients} clients, gunicorn {args.workers}x"
        f"{args.threads}, 1 Celery worker, own redis-server; PostgreSQL on 127.0.0.1"
    )
    for event in events:
        print(f"  {event}")
    print(
        f"  accepted {len(tally.accepted)}   stored {count}   lost {lost}   5xx {five_xx}   "
        f"statuses {dict(sorted(tally.statuses.items()))}   client retries {tally.retries}"
    )
    print(
        f"  {len(tally.accepted) / elapsed:.0f} submissions/s   p50 {p50:.1f} ms   p99 {p99:.1f} ms"
    )
    print(f"  last analysis run: {status}, saw {seen} of {count} responses")
    print(f"  logs: {logs}")
    print(
        json.dumps(
            {
                "bench": "soak",
                "minutes": round(elapsed / 60, 2),
                "clients": args.clients,
                "accepted": len(tally.accepted),
                "stored": count,
                "lost": lost,
                "5xx": five_xx,
                "p99_ms": round(p99, 1),
                "retries": tally.retries,
                "analysis_caught_up": status == "done" and seen == count,
                "events": events,
                "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}",
            }
        )
    )


if __name__ == "__main__":
    main()
