"""Analysis benchmark: a full re-run of the reference questionnaire's analysis at scale.

    .venv/bin/python bench/analysis/run.py [--n 100000 1000000] [--workers 1 2]
                                           [--chunk-size 25000] [--runs 1] [--work-mem 128MB]
                                           [--live 20]
    .venv/bin/python bench/analysis/run.py --quick   # 20,000 responses, 1 worker, 2 chunks

For each N: recreates the PostgreSQL database ``wenji_bench``, migrates it, imports the
reference questionnaire and bulk-loads N responses of the demo generator with COPY
(``demo.bulk``). Then:

- a first run, which sets every response's validity flags after the bulk load, or after the
  live submissions of an earlier run on a reused database (reported only);
- a timed full re-run with 1 and with 2 real Celery worker processes (``celery -A config
  worker -c 1`` each, Redis database 13), from the request to the row saying done, with the
  time of each phase and the peak memory (VmHWM from /proc) of every worker process. It is
  requested as after a change to scores, segments or the banner (``definition_change``), so
  the validity recompute is skipped when nothing it reads changed (``validity_refresh``);
- the same re-run with 1 worker asked by a person, which always re-judges validity (as the
  first full run after new data does): ``with_validity_seconds`` and ``with_validity_ratio``;
- live results (``--live K``): with one worker running, K single submissions through
  ``response_submit`` (a second or so apart), each timed from its commit until the newest done
  run's counts include it, as the results API would show it; p50 and p95 of those times. The
  same worker meanwhile stores every response's export cells (``exports.cells``, the job a
  full run sends; a reused database's were stored by an earlier run unless emptied);
- the limit, in the same run: one hand-written SQL statement that computes the same counts and
  sums over all valid responses (group sizes, answer cells by banner column and segment,
  per-response multiple/score rows), with no validity recompute, no chunks and no Python;
- the columnar reference: the same statement in DuckDB (one thread) over the same rows copied
  out of PostgreSQL (``requirements/bench.txt``; skipped, saying so, without it);

and prints each run's time over the limit's. Not a test: it prints figures, and ends with one
JSON line for the last N and worker count (``{"bench": "analysis", "n": …, "seconds": …,
"limit_seconds": …, "ratio": …, "workers": …, "peak_rss_mb": …, "duckdb_seconds": …,
"with_validity_seconds": …, "with_validity_ratio": …, "live_p95_s": …, "machine": …}``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Django is set up at run time, after the environment is
    from survey.models import Questionnaire

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ingest.run import machine  # noqa: E402  (after the path is set)

PG = "postgres://postgres@127.0.0.1:5432"
DB = "wenji_bench"
REDIS = "redis://127.0.0.1:6379/13"
SLUG = "ipb-survey"
PERIOD_END = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)  # the same rows on every load


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000], help="responses to load")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk-size", type=int, default=25_000, help="ANALYSIS_CHUNK_SIZE")
    parser.add_argument(
        "--live",
        type=int,
        default=20,
        help="then this many single submissions, each timed until the results show it",
    )
    parser.add_argument("--runs", type=int, default=1, help="timed runs per worker count")
    parser.add_argument(
        "--work-mem", default="", help="PostgreSQL work_mem for the bench database (e.g. 128MB)"
    )
    parser.add_argument("--db", default=DB, help="the bench database's name (recreated)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep wenji_bench if it already holds N responses (no reload)",
    )
    parser.add_argument(
        "--load-only", action="store_true", help="recreate and load the database, then stop"
    )
    parser.add_argument(
        "--quick", action="store_true", help="20,000 responses, 1 worker, chunks of 10,000"
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.workers, args.chunk_size, args.live = [20_000], [1], 10_000, 10
    return args


def environment(chunk_size: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{DB}?conn_max_age=600",
        REDIS_URL=REDIS,
        SECRET_KEY="bench-" + "k" * 50,
        IDENTITY_HASH_KEY="bench-identity-key-" + "i" * 32,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        ANALYSIS_CHUNK_SIZE=str(chunk_size),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


# --- database ---------------------------------------------------------------------------------


def recreate_database(work_mem: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
        if work_mem:
            conn.execute(f"ALTER DATABASE \"{DB}\" SET work_mem = '{work_mem}'")


def set_work_mem(work_mem: str) -> None:
    """The bench database's work_mem: the one given, or the server's default."""
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if work_mem:
            conn.execute(f"ALTER DATABASE \"{DB}\" SET work_mem = '{work_mem}'")
        else:
            conn.execute(f'ALTER DATABASE "{DB}" RESET work_mem')


def prepare() -> Questionnaire:
    from django.core.management import call_command

    from survey.interchange import load_definition
    from survey.services.questionnaires import questionnaire_import, questionnaire_publish

    call_command("migrate", verbosity=0)
    definition = load_definition((ROOT / "examples" / "ipb-survey.yaml").read_text())
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))


def loaded(n: int) -> Questionnaire | None:
    """The bench questionnaire if wenji_bench exists and holds exactly ``n`` responses."""
    import psycopg
    from django.core.management import call_command

    from survey.models import Questionnaire

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            return None
    call_command("migrate", verbosity=0)
    questionnaire = Questionnaire.objects.filter(slug=SLUG).first()
    if questionnaire is None or questionnaire.responses.count() != n:
        return None
    return questionnaire


def load(questionnaire: Questionnaire, n: int) -> None:
    from demo.bulk import responses_bulk_load

    started = time.perf_counter()
    loaded = responses_bulk_load(
        dsn=f"{PG}/{DB}", questionnaire=questionnaire, count=n, seed=1, period_end=PERIOD_END
    )
    elapsed = time.perf_counter() - started
    print(
        f"  loaded {n:,} responses, {loaded.answers:,} answer rows in {elapsed:.0f} s "
        f"(demo generator, COPY); planned {loaded.kinds}"
    )


# --- workers ----------------------------------------------------------------------------------


class Workers:
    """``count`` worker instances, one pool process each, in their own process groups."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        for index in range(count):
            log = Path(f"/tmp/wenji-bench-worker-{index}.log")
            log.write_text("")
            command = [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "-P", "prefork"]
            command += ["-c", "1", "--without-heartbeat", "--without-gossip", "--without-mingle"]
            command += ["-n", f"bench{index}@%h", "-l", "INFO", "--logfile", str(log)]
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            self.logs.append(log)
        deadline = time.monotonic() + 60
        while not all(" ready." in log.read_text() for log in self.logs):
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the workers did not start; see /tmp/wenji-bench-worker-*.log")
            time.sleep(0.1)

    def peak_memory_mb(self) -> list[dict[str, float]]:
        """VmHWM of each worker's main process and of its pool process (the one that works)."""
        return [_group_memory(process.pid) for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _group_memory(pgid: int) -> dict[str, float]:
    peaks = {"main": 0.0, "pool": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
            continue
        hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        role = "main" if int(entry.name) == pgid else "pool"
        peaks[role] = max(peaks[role], int(hwm.split()[1]) / 1024)
    return peaks


# --- one run ----------------------------------------------------------------------------------

MILESTONES = {15: "validity", 20: "planned", 90: "chunks", 100: "tables"}


def timed_run(questionnaire_id: int, trigger: str) -> dict:
    """Request a run (sent to the workers) and poll its row until it ends."""
    from analysis.models import AnalysisRun
    from analysis.services.runs import analysis_run_request

    started = time.perf_counter()
    run = analysis_run_request(questionnaire_id=questionnaire_id, trigger=trigger)
    reached: dict[str, float] = {}
    while True:
        status, progress = AnalysisRun.objects.values_list("status", "progress").get(pk=run.pk)
        now = time.perf_counter() - started
        for mark, name in MILESTONES.items():
            if progress >= mark and name not in reached:
                reached[name] = now
        if status in AnalysisRun.FINISHED:
            break
        time.sleep(0.02)
    run.refresh_from_db()
    if run.status != AnalysisRun.Status.DONE:
        raise SystemExit(f"run {run.pk} failed: {run.error}")
    return {"seconds": now, "phases": reached, "chunks": run.chunks_total}


def milestones(result: dict) -> str:
    """When a timed run reached each milestone: "validity 1.8, planned 2.4, …"."""
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["phases"].items())


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS).flushdb()


def run_with_workers(
    questionnaire_id: int, count: int, env: dict[str, str], trigger: str = "definition_change"
) -> dict:
    flush_redis()
    workers = Workers(count, env)
    try:
        result = timed_run(questionnaire_id, trigger)
        result["memory"] = workers.peak_memory_mb()
    finally:
        workers.stop()
    return result


# --- live results -----------------------------------------------------------------------------


def live_results(questionnaire: Questionnaire, count: int, env: dict[str, str]) -> dict:
    """``count`` single submissions with one worker running, each timed until the newest done
    run counts it (what the results API reads)."""
    import random
    import uuid

    from django.utils import timezone

    from analysis.models import AnalysisRun
    from demo.generate import responses_plan, segment_rules
    from exports.cells import answer_cells_dispatch
    from exports.models import AnswerCells
    from survey.models import Response
    from survey.services.responses import response_submit
    from survey.structure import structure_for

    structure = structure_for(questionnaire)
    plan, _ = responses_plan(
        structure=structure,
        rules=segment_rules(questionnaire=questionnaire, structure=structure),
        count=count,
        seed=11,
        period_end=timezone.now(),
    )
    done = AnalysisRun.objects.filter(questionnaire=questionnaire, status="done")
    flush_redis()
    workers = Workers(1, env)
    latencies, incremental = [], 0
    cells_before = AnswerCells.objects.count()
    try:
        # The full run before this phase sent a job storing every response's export cells
        # (exports.cells); the flush above dropped it. Sent again, it works beside the live
        # submissions, a slice at a time, as after any full run.
        answer_cells_dispatch(questionnaire.pk, every=True)
        rng = random.Random(5)
        for planned in plan:
            response_submit(
                questionnaire=questionnaire,
                answers=planned.answers,
                submission_id=uuid.uuid4(),
                channel=Response.Channel.API,
            )
            stored = Response.objects.filter(questionnaire=questionnaire).count()
            started = time.perf_counter()
            while True:
                row = done.order_by("-finished_at", "-id").values("counts", "incremental").first()
                if row and row["counts"].get("collected", 0) >= stored:
                    break
                if time.perf_counter() - started > 120:
                    raise SystemExit("a submission did not reach the results in 120 s")
                time.sleep(0.02)
            latencies.append(time.perf_counter() - started)
            incremental += bool(row["incremental"])
            time.sleep(rng.uniform(0, 1.5))
        memory = workers.peak_memory_mb()
    finally:
        workers.stop()
    latencies.sort()
    return {
        "cells_stored": AnswerCells.objects.count() - cells_before,
        "p50": latencies[len(latencies) // 2],
        "p95": latencies[max(0, int(len(latencies) * 0.95 + 0.5) - 1)],
        "max": latencies[-1],
        "incremental": incremental,
        "memory": max((max(m["pool"], m["main"]) for m in memory), default=0),
    }


# --- the limit --------------------------------------------------------------------------------


def limit_sql(questionnaire: Questionnaire) -> str:
    """One statement, written by hand for the reference questionnaire, computing what the
    analysis aggregates: group sizes, answer cells per group, per-response multiple and
    matrix-score rows per group; groups = all, each banner option (D1–D6), each segment."""
    from survey.structure import structure_for

    q = structure_for(questionnaire).questions
    banner = ["D1", "D2", "D3", "D4", "D5", "D6"]
    choices = ", ".join(
        f"MAX(CASE WHEN a.question_id = {q[c].id} THEN a.option_id END) AS {c.lower()}"
        for c in banner
    )
    q2 = ", ".join(str(q["Q2"].items[i].id) for i in "abcd")
    q14 = q["Q14"].options
    segments = (
        f"COUNT(*) FILTER (WHERE a.item_id IN ({q2}) AND a.number >= 3) = 4 AS active, "
        f"COUNT(*) FILTER (WHERE a.item_id IN ({q2}) AND a.number < 3) = 4 AS passive, "
        f"BOOL_OR(a.option_id IN ({q14['3'].id}, {q14['4'].id})) AS sceptic, "
        f"BOOL_OR(a.option_id IN ({q14['1'].id}, {q14['2'].id})) "
        f"AND BOOL_OR(a.option_id = {q['Q15'].options['1'].id}) AS agree_return"
    )
    groups = ["COUNT(*)"]
    groups += [
        f"COUNT(*) FILTER (WHERE p.{c.lower()} = {option.id})"
        for c in banner
        for option in q[c].options.values()
    ]
    groups += [
        f"COUNT(*) FILTER (WHERE p.{s})" for s in ("active", "passive", "sceptic", "agree_return")
    ]
    counts = ", ".join(groups)
    multiple = [x.id for x in q.values() if x.type == "multiple"]
    matrices = [x.id for x in q.values() if x.type == "matrix"]
    per_response = ", ".join(str(i) for i in multiple + matrices)
    return f"""
WITH p AS MATERIALIZED (
  SELECT r.id, {choices}, {segments}
  FROM survey_response r JOIN survey_answer a ON a.response_id = r.id
  WHERE r.questionnaire_id = {questionnaire.pk} AND r.status <> 'invalid'
  GROUP BY r.id
)
SELECT 'n', NULL::bigint, NULL::bigint, NULL::bigint, NULL::decimal, NULL::bigint,
       NULL::decimal, {counts} FROM p
UNION ALL
SELECT 'c', a.question_id, a.item_id, a.option_id, a.number, NULL, NULL, {counts}
FROM p JOIN survey_answer a ON a.response_id = p.id
GROUP BY a.question_id, a.item_id, a.option_id, a.number
UNION ALL
SELECT 'r', x.question_id, NULL, NULL, NULL, x.k, x.s, {counts}
FROM p JOIN (
  SELECT a.response_id, a.question_id, COUNT(o.score) AS k, SUM(o.score) AS s
  FROM survey_answer a JOIN survey_option o ON o.id = a.option_id
  WHERE a.question_id IN ({per_response})
  GROUP BY a.response_id, a.question_id
) x ON x.response_id = p.id
GROUP BY x.question_id, x.k, x.s
"""


def time_limit(sql: str) -> float:
    import psycopg

    best = float("inf")
    with psycopg.connect(f"{PG}/{DB}") as conn:
        for _attempt in range(2):
            started = time.perf_counter()
            conn.execute(sql).fetchall()
            best = min(best, time.perf_counter() - started)
    return best


def time_duckdb(questionnaire: Questionnaire, sql: str) -> float | None:
    """The limit's statement in DuckDB (one thread) over the same rows, copied out of
    PostgreSQL: the columnar reference. None when DuckDB is not installed (a bench-only
    dependency: ``pip install -r requirements/bench.txt``)."""
    try:
        import duckdb
    except ImportError:
        return None
    import tempfile

    import psycopg

    tables = {
        "survey_response": "SELECT id, questionnaire_id, status FROM survey_response "
        f"WHERE questionnaire_id = {questionnaire.pk}",
        "survey_answer": "SELECT a.response_id, a.question_id, a.item_id, a.option_id, a.number "
        "FROM survey_answer a JOIN survey_response r ON r.id = a.response_id "
        f"WHERE r.questionnaire_id = {questionnaire.pk}",
        "survey_option": "SELECT id, score FROM survey_option",
    }
    with tempfile.TemporaryDirectory() as folder, psycopg.connect(f"{PG}/{DB}") as conn:
        database = duckdb.connect()
        database.execute("SET threads = 1")
        for name, query in tables.items():
            path = Path(folder) / f"{name}.csv"
            with (
                path.open("wb") as out,
                conn.cursor().copy(
                    f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"
                ) as copy,
            ):
                for block in copy:
                    out.write(block)
            database.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}')")
        best = float("inf")
        for _attempt in range(2):
            started = time.perf_counter()
            database.execute(sql).fetchall()
            best = min(best, time.perf_counter() - started)
        database.close()
    return best


# --- main -------------------------------------------------------------------------------------


def bench(n: int, args: argparse.Namespace, env: dict[str, str]) -> dict | None:
    from analysis.models import AnalysisRun
    from survey.models import Response

    memory = f", work_mem {args.work_mem}" if args.work_mem else ""
    print(f"\n== N = {n:,} responses (chunk size {args.chunk_size:,}{memory}) ==")
    questionnaire = loaded(n) if args.reuse else None
    if questionnaire is not None:
        print("  reusing the loaded database")
        set_work_mem(args.work_mem)
    else:
        recreate_database(args.work_mem)
        questionnaire = prepare()
        load(questionnaire, n)
    if args.load_only:
        return None
    analysed = AnalysisRun.objects.filter(questionnaire=questionnaire, status="done").exists()
    unjudged = Response.objects.filter(questionnaire=questionnaire, status_provisional=True)
    if not analysed or unjudged.exists():  # after the load, or a reused database's live runs
        first = run_with_workers(questionnaire.pk, max(args.workers), env, trigger="manual")
        print(f"  first run after new data (sets every validity flag): {first['seconds']:.1f} s")
    limit = time_limit(limit_sql(questionnaire))
    print(f"  limit (one hand-written SQL statement, best of 2): {limit:.2f} s")
    columnar = time_duckdb(questionnaire, limit_sql(questionnaire))
    if columnar is None:
        print("  DuckDB: not installed (pip install -r requirements/bench.txt)")
    else:
        print(f"  the same statement in DuckDB, 1 thread, best of 2: {columnar:.2f} s")
    summary = None
    for count in args.workers:
        for _run in range(args.runs):
            result = run_with_workers(questionnaire.pk, count, env)
            peak = max((max(m["pool"], m["main"]) for m in result["memory"]), default=0)
            summary = {
                "bench": "analysis",
                "n": n,
                "seconds": round(result["seconds"], 3),
                "limit_seconds": round(limit, 3),
                "ratio": round(result["seconds"] / limit, 3),
                "workers": count,
                "peak_rss_mb": round(peak, 1),
                "duckdb_seconds": None if columnar is None else round(columnar, 3),
            }
            pools = [round(m["pool"]) for m in result["memory"]]
            mains = [round(m["main"]) for m in result["memory"]]
            print(
                f"  {count} worker(s): {result['seconds']:.2f} s = {result['seconds'] / limit:.2f}"
                f" x limit; {result['chunks']} chunks; reached at (s): {milestones(result)}; "
                f"peak memory MB: pool {pools}, main {mains}"
            )
    if summary is not None:
        # A run a person asks for re-judges every response's validity (as does the first
        # full run after new data): the same re-run with that step, 1 worker.
        asked = run_with_workers(questionnaire.pk, 1, env, trigger="manual")
        summary["with_validity_seconds"] = round(asked["seconds"], 3)
        summary["with_validity_ratio"] = round(asked["seconds"] / limit, 3)
        print(
            f"  1 worker, asked by a person (validity re-judged): {asked['seconds']:.2f} s = "
            f"{asked['seconds'] / limit:.2f} x limit; reached at (s): {milestones(asked)}"
        )
    if summary is not None and args.live:
        live = live_results(questionnaire, args.live, env)
        summary["live_p95_s"] = round(live["p95"], 3)
        print(
            f"  live results, {args.live} single submissions with 1 worker: shown after "
            f"p50 {live['p50']:.2f} s, p95 {live['p95']:.2f} s, max {live['max']:.2f} s "
            f"({live['incremental']} by incremental runs); worker peak {live['memory']:.0f} MB; "
            f"meanwhile the worker stored {live['cells_stored']:,} responses' export cells"
        )
    return summary


def main() -> None:
    args = parse_args()
    global DB
    DB = args.db
    env = environment(args.chunk_size)
    os.environ.update(env)
    import django

    django.setup()
    summary = None
    for n in args.n:
        summary = bench(n, args, env) or summary
    if summary is not None:
        print(json.dumps({**summary, "machine": machine()}))


if __name__ == "__main__":
    main()
