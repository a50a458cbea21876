"""Ingest benchmark: complete reference-questionnaire submissions through the real HTTP stack.

    .venv/bin/python bench/ingest/run.py [--n 20000] [--clients 16] [--workers 4]
                                         [--worker-class sync|gthread] [--threads 8]
    .venv/bin/python bench/ingest/run.py --quick      # 2,000 submissions, about a minute

Starts gunicorn on 127.0.0.1 with ``gunicorn.conf.py``'s settings against PostgreSQL (database
``wenji_bench_ingest``, recreated) and Redis (db 14), posts N submissions (answers planned by
the demo generator, ``demo.generate``) from C concurrent clients to the collector API, then
prints submissions/s, p50/p99 latency, 201s received versus rows stored (lost must be 0), and, in
the same run, the raw limit: the same rows written with plain psycopg 3, one transaction per
submission, on one and on two connections. The two are measured in interleaved rounds
(``--rounds``, 5), so a machine whose speed drifts during the run slows both alike.

Workers are sync by default, as deployed: each takes one request at a time, and the other
requests wait in the kernel's accept queue in arrival order, so every client is served alike.
With ``--worker-class gthread`` each keep-alive connection stays with the worker that accepted
it: 16 clients were once split 4 to 12 between two workers, a quarter of them answered in
41 ms and the rest in 130 (p99 twice p50).

Not a test: it prints figures, and ends with one JSON line (``{"bench": "ingest", "n": …,
"project": …, "limit": …, "ratio": …, "p99_ms": …, "lost": …, "machine": …}``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"
SLUG = "ipb-survey"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="submissions to send")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default="sync",
        help="sync (one request at a time per process), as gunicorn.conf.py ships, or gthread",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--db", default="wenji_bench_ingest")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds of the stack and the raw limit"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 submissions")
    args = parser.parse_args()
    if args.quick:
        args.n = 2000
    return args


def environment(db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{db}?conn_max_age=600",
        REDIS_URL="redis://127.0.0.1:6379/14",
        SECRET_KEY="bench-" + "k" * 50,
        IDENTITY_HASH_KEY="bench-identity-key-" + "i" * 32,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        SUBMIT_RATE_LIMIT="100000000/minute",
        LOG_LEVEL="WARNING",
    )
    return env


def recreate_database(db: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def prepare(env: dict[str, str], n: int) -> tuple[str, int, list[dict]]:
    """Migrate, import and open the questionnaire, make a collector, and plan ``n`` + 500
    responses with the demo generator; return (token, questionnaire id, answers)."""
    answers_file = Path(tempfile.mkstemp(suffix=".json")[1])
    script = f"""
import json
from pathlib import Path
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from survey.interchange import load_definition
from survey.models import QuestionnaireAccess
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
definition = load_definition(Path({str(ROOT / "examples/ipb-survey.yaml")!r}).read_text())
q = questionnaire_publish(questionnaire=questionnaire_import(definition=definition))
user = User.objects.create_user("bench-collector")
user.groups.add(Group.objects.get(name="collector"))
QuestionnaireAccess.objects.create(user=user, questionnaire=q)
from demo.generate import responses_plan, segment_rules
from django.utils import timezone
from survey.structure import structure_for
structure = structure_for(q)
plan, _ = responses_plan(
    structure=structure, rules=segment_rules(questionnaire=q, structure=structure),
    count={n + 500}, seed=7, period_end=timezone.now(),
)
Path({str(answers_file)!r}).write_text(json.dumps([p.answers for p in plan], ensure_ascii=False))
print(json.dumps([Token.objects.create(user=user).key, q.pk]))
"""
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    out = subprocess.run(
        [*manage, "shell", "-c", script], env=env, check=True, cwd=ROOT, capture_output=True
    )
    token, questionnaire_id = json.loads(out.stdout.decode().strip().splitlines()[-1])
    answers = json.loads(answers_file.read_text())
    answers_file.unlink()
    return token, questionnaire_id, answers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int, worker_class: str):
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        "--log-level=warning",
    ]
    if worker_class == "gthread":
        command += [f"--threads={threads}", "--keep-alive=30"]
    # gunicorn.conf.py (production settings) applies; its access log goes to /dev/null here.
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def client(port: int, requests: list[bytes], latencies, statuses, lock) -> None:
    """One client: sends each request (its bytes made beforehand) and reads the answer, on the
    same connection while the server keeps it open (gthread), on a new one after the server
    closes it (sync workers close after each answer). A raw socket, not ``http.client``: the
    load generator shares the two cores with the server, and ``http.client`` took 0.48–0.51 ms
    of CPU per request where this takes 0.28."""
    sock, reader = None, None
    mine_lat, mine_status = [], []
    while True:
        with lock:
            if not requests:
                break
            request = requests.pop()
        started = time.perf_counter()
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                reader = sock.makefile("rb")
            sock.sendall(request)
            status, keep = read_response(reader)
        except (OSError, ValueError):
            status, keep = 0, False
        if not keep:
            sock, reader = _hang_up(sock, reader)
        mine_status.append(status)
        mine_lat.append(time.perf_counter() - started)
    _hang_up(sock, reader)
    with lock:
        latencies.extend(mine_lat)
        statuses.extend(mine_status)


def _hang_up(sock, reader) -> tuple[None, None]:
    """Close a client's connection, if it has one (it has none when connecting failed)."""
    if reader is not None:
        reader.close()
    if sock is not None:
        sock.close()
    return None, None


def read_response(reader) -> tuple[int, bool]:
    """An HTTP/1.1 answer read whole: (status, whether the connection stays open)."""
    status_line = reader.readline().split(b" ", 2)
    if len(status_line) < 2:  # the server closed the connection without answering
        raise ValueError("no answer")
    status = int(status_line[1])
    length, keep = 0, True
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
        elif name == b"transfer-encoding":
            raise ValueError("a chunked answer: not read here")
    if length and len(reader.read(length)) != length:
        raise ValueError("the answer ended early")
    return status, keep


def run_http(port: int, token: str, answers: list[dict], clients: int) -> dict:
    path = f"/api/v1/questionnaires/{SLUG}/submissions/"
    requests = []
    for one in answers:
        body = json.dumps({"submission_id": str(uuid.uuid4()), "answers": one}).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=client, args=(port, requests, latencies, statuses, lock))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed}


def merged(rounds: list[dict]) -> dict:
    """The rounds of ``run_http`` as one run: submissions over the summed time, latencies
    pooled."""
    latencies = sorted(lat for one in rounds for lat in one["latencies"])
    statuses = [code for one in rounds for code in one["statuses"]]
    elapsed = sum(one["elapsed"] for one in rounds)
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "created": statuses.count(201),
        "other": {s: statuses.count(s) for s in set(statuses) if s != 201},
    }


def stored_rows(db: str, questionnaire_id: int) -> int:
    import psycopg

    with psycopg.connect(f"{PG}/{db}") as conn:
        return conn.execute(
            "SELECT count(*) FROM survey_response WHERE questionnaire_id = %s", [questionnaire_id]
        ).fetchone()[0]


def raw_limit(db: str, questionnaire_id: int, n: int, connections: int) -> tuple[int, float]:
    """The same rows (a response and its answer rows) with plain psycopg, one txn each:
    (submissions written, per second)."""
    import psycopg

    with psycopg.connect(f"{PG}/{db}") as conn:
        template = conn.execute(
            "SELECT id, answers, answers_digest FROM survey_response "
            "WHERE questionnaire_id = %s ORDER BY id LIMIT 1",
            [questionnaire_id],
        ).fetchone()
        answer_rows = conn.execute(
            "SELECT question_id, item_id, option_id, number, text FROM survey_answer "
            "WHERE response_id = %s",
            [template[0]],
        ).fetchall()
    answers_json = json.dumps(template[1], ensure_ascii=False)
    per_connection = n // connections

    def writer() -> None:
        with psycopg.connect(f"{PG}/{db}") as conn:
            for _ in range(per_connection):
                with conn.transaction():
                    response_id = conn.execute(
                        "INSERT INTO survey_response (questionnaire_id, submission_id, "
                        "answers_digest, answers, channel, definition_version, status, "
                        "speeder, attention_failed, duplicate, straightlined, "
                        "status_provisional, manual_status, submitted_at, received_at, ip_hash) "
                        "VALUES (%s, %s, %s, %s, 'api', 1, 'valid', false, false, false, false, "
                        "true, '', now(), now(), '') RETURNING id",
                        [questionnaire_id, uuid.uuid4(), template[2], answers_json],
                    ).fetchone()[0]
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO survey_answer (response_id, question_id, item_id, "
                            "option_id, number, text) VALUES (%s, %s, %s, %s, %s, %s)",
                            [(response_id, *row) for row in answer_rows],
                        )

    threads = [threading.Thread(target=writer) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = per_connection * connections
    return written, written / (time.perf_counter() - started)


def main() -> None:
    args = parse_args()
    env = environment(args.db)
    os.environ.update(env)
    recreate_database(args.db)
    token, questionnaire_id, answers = prepare(env, args.n)
    port = args.port or free_port()
    server = start_gunicorn(env, port, args.workers, args.threads, args.worker_class)
    raw_n = min(args.n, 5000)
    http_rounds: list[dict] = []
    raw_rounds: dict[int, list[tuple[int, float]]] = {1: [], 2: []}
    try:
        warm_up, measured = answers[: min(500, args.n)], answers[500 : 500 + args.n]
        run_http(port, token, warm_up, args.clients)  # not counted
        before = stored_rows(args.db, questionnaire_id)
        # Interleaved rounds (the stack, then the raw limit on 1 and 2 connections), so that a
        # machine whose speed drifts during the run (a shared host) slows both alike.
        for part in range(args.rounds):
            share = measured[
                part * len(measured) // args.rounds : (part + 1) * len(measured) // args.rounds
            ]
            http_rounds.append(run_http(port, token, share, args.clients))
            for connections in (1, 2):
                raw_rounds[connections].append(
                    raw_limit(args.db, questionnaire_id, raw_n // args.rounds, connections)
                )
        stored_raw = sum(count for rounds in raw_rounds.values() for count, _rate in rounds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    result = merged(http_rounds)
    stored = stored_rows(args.db, questionnaire_id) - before - stored_raw
    raw_one, raw_two = (
        sum(c for c, _ in raw_rounds[k]) / sum(c / r for c, r in raw_rounds[k]) for k in (1, 2)
    )
    limit = max(raw_one, raw_two)
    print(
        f"ingest: {args.n} submissions, {args.clients} clients, gunicorn "
        f"{shape(args)}, PostgreSQL + Redis on 127.0.0.1"
    )
    print(
        f"  HTTP stack      {result['rate']:8.0f} submissions/s   "
        f"p50 {result['p50_ms']:.1f} ms   p99 {result['p99_ms']:.1f} ms"
    )
    print(
        f"  201 received    {result['created']:8d}   rows stored {stored}   "
        f"lost {result['created'] - stored}   other statuses {result['other'] or 'none'}"
    )
    print(f"  raw psycopg     {raw_one:8.0f} /s on 1 connection, {raw_two:.0f} /s on 2")
    print(
        f"  ratio           {result['rate'] / limit:8.0%} of the raw limit "
        f"(goal >= 60%, p99 < 100 ms)"
    )
    summary = {
        "bench": "ingest",
        "n": args.n,
        "project": round(result["rate"], 1),
        "limit": round(limit, 1),
        "ratio": round(result["rate"] / limit, 3),
        "p99_ms": round(result["p99_ms"], 1),
        "lost": result["created"] - stored,
        "machine": machine(),
    }
    print(json.dumps(summary))


def shape(args: argparse.Namespace) -> str:
    if args.worker_class == "gthread":
        return f"{args.workers} gthread workers x {args.threads} threads"
    return f"{args.workers} sync workers"


def machine() -> str:
    """This machine in a few words: CPUs, memory, PostgreSQL on the same host."""
    cpus = os.cpu_count()
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    return f"{cpus} CPUs{memory}, PostgreSQL and Redis on 127.0.0.1"


if __name__ == "__main__":
    main()
