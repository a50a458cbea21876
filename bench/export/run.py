"""Export benchmark: the wide CSV of N responses through the real exporter, beside PostgreSQL's
own COPY of the same responses' answer rows.

    .venv/bin/python bench/export/run.py [--n 100000] [--db wenji_bench_export] [--reuse]
    .venv/bin/python bench/export/run.py --quick    # 20,000 responses

Creates the database ``wenji_bench_export`` (dropped and made again unless ``--reuse`` finds N
responses in it), migrates it, imports the reference questionnaire and bulk-loads N responses
of the demo generator (``demo.bulk``: ``answers`` JSON and answer rows) with COPY. Then, each
in its own child process (so memory peaks do not mix), it measures:

- ``store``: ``exports.cells.answer_cells_store``, the job that runs after each analysis run
  and stores every response's finished cells (nothing to do when ``--reuse`` finds them);
- ``export``: ``exports.services.export_stream_csv`` (the code behind
  ``GET .../exports/responses.csv``), wide, valid responses, every chunk written to /dev/null,
  reading the stored cells;
- ``export, cells made``: the same with ``EXPORT_STORED_CELLS=false``: every cell made from
  the answers, as for responses whose cells are not stored yet;
- ``copy answers``: ``COPY (SELECT … FROM survey_answer JOIN survey_response …) TO STDOUT`` of
  the same responses' answer rows, read by psycopg and discarded;
- ``copy json``: the same for ``survey_response.answers`` (one JSON document per response).

It prints seconds, responses/s, rows/s, MB written and the child's peak RSS
(``ru_maxrss``), and the ratio export / COPY in responses per second (the goal: at least
0.5). Not a test: it prints figures, and ends with one JSON line (``{"bench": "export", "n": …,
"rows_per_s": …, "copy_rows_per_s": …, "ratio": …, "made_ratio": …, "store_seconds": …,
"machine": …}``: responses per second of the export and of the COPY of the answers' JSON
column, the same information; ``made_ratio`` for the export that makes every cell).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ingest.run import machine  # noqa: E402  (after the path is set)

PG = "postgres://postgres@127.0.0.1:5432"
SLUG = "ipb-survey"
BENCH_USER = "bench-export"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="responses to load")
    parser.add_argument("--db", default="wenji_bench_export")
    parser.add_argument("--reuse", action="store_true", help="keep a database that has N")
    parser.add_argument("--child", choices=["load", "store", "export", "copy-answers", "copy-json"])
    parser.add_argument("--quick", action="store_true", help="20,000 responses")
    args = parser.parse_args()
    if args.quick:
        args.n = 20_000
    return args


def environment(db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{db}",
        SECRET_KEY="bench-" + "k" * 50,
        IDENTITY_HASH_KEY="bench-identity-key-" + "i" * 32,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        CELERY_TASK_ALWAYS_EAGER="true",
        REDIS_URL="",
    )
    return env


def database_has(db: str, n: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{PG}/{db}") as conn:
            row = conn.execute("SELECT count(*) FROM survey_response").fetchone()
            return row is not None and row[0] == n
    except psycopg.Error:
        return False


def recreate_database(db: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def run_child(kind: str, args: argparse.Namespace, **env: str) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--n", str(args.n), "--db", args.db]
    out = subprocess.run(
        command,
        env={**environment(args.db), **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- children ----------------------------------------------------------------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_export(args: argparse.Namespace) -> dict:
    django_setup()
    from django.contrib.auth.models import User

    from exports.services import export_stream_csv
    from survey.models import Questionnaire

    questionnaire = Questionnaire.objects.get(slug=SLUG)
    user = User.objects.get(username=BENCH_USER)
    started = time.perf_counter()
    stream = export_stream_csv(
        questionnaire=questionnaire, kind="responses_wide", filters={}, options={}, user=user
    )
    written = 0
    with open(os.devnull, "wb") as sink:
        for chunk in stream.chunks:
            written += len(chunk)
            sink.write(chunk)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "responses": stream.responses, "rows": stream.responses,
            "bytes": written, "peak_mb": peak_mb()}  # fmt: skip


def child_store(args: argparse.Namespace) -> dict:
    django_setup()
    from exports.cells import answer_cells_store
    from survey.models import Questionnaire

    questionnaire = Questionnaire.objects.get(slug=SLUG)
    started = time.perf_counter()
    stored = answer_cells_store(questionnaire_id=questionnaire.pk).count
    return {"seconds": time.perf_counter() - started, "stored": stored, "peak_mb": peak_mb()}


def child_copy(args: argparse.Namespace, what: str) -> dict:
    import psycopg

    with psycopg.connect(f"{PG}/{args.db}") as conn:
        qid, responses = conn.execute(
            "SELECT q.id, count(r.id) FROM survey_questionnaire q JOIN survey_response r "
            "ON r.questionnaire_id = q.id AND r.status <> 'invalid' WHERE q.slug = %s "
            "GROUP BY q.id",
            [SLUG],
        ).fetchone()
        if what == "answers":
            select = (
                "SELECT a.response_id, a.question_id, a.item_id, a.option_id, a.number, a.text "
                "FROM survey_answer a JOIN survey_response r ON r.id = a.response_id "
                f"WHERE r.questionnaire_id = {int(qid)} AND r.status <> 'invalid'"
            )
        else:
            select = (
                "SELECT id, answers FROM survey_response "
                f"WHERE questionnaire_id = {int(qid)} AND status <> 'invalid'"
            )
        started = time.perf_counter()
        written = lines = 0
        with conn.cursor() as cursor, cursor.copy(f"COPY ({select}) TO STDOUT") as copy:
            for block in copy:
                written += len(block)
                lines += bytes(block).count(b"\n")
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "responses": responses, "rows": lines, "bytes": written,
            "peak_mb": peak_mb()}  # fmt: skip


# --- loading -----------------------------------------------------------------------------------


def child_load(args: argparse.Namespace) -> dict:
    """Import the questionnaire, COPY N responses of the demo generator (``demo.bulk``) and
    mark their validity as the analysis does."""
    django_setup()
    from django.contrib.auth.models import User

    from demo.bulk import responses_bulk_load
    from survey.interchange import load_definition
    from survey.services.questionnaires import questionnaire_import, questionnaire_publish
    from survey.services.validity import validity_recompute

    definition = load_definition((ROOT / "examples/ipb-survey.yaml").read_text())
    questionnaire = questionnaire_publish(questionnaire=questionnaire_import(definition=definition))
    User.objects.create_superuser(BENCH_USER, password=None)
    started = time.perf_counter()
    loaded = responses_bulk_load(
        dsn=f"{PG}/{args.db}",
        questionnaire=questionnaire,
        count=args.n,
        seed=2024,
        period_end=datetime(2024, 3, 31, 20, 0, tzinfo=UTC),
    )
    validity_recompute(questionnaire=questionnaire)
    return {"seconds": time.perf_counter() - started, "answers": loaded.answers}


# --- the run -----------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> None:
    if args.reuse and database_has(args.db, args.n):
        print(f"reusing {args.db} with {args.n:,} responses")
        return
    recreate_database(args.db)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=environment(args.db), check=True, cwd=ROOT)
    loaded = run_child("load", args)
    print(
        f"loaded {args.n:,} responses and {loaded['answers']:,} answer rows "
        f"in {loaded['seconds']:.0f} s"
    )


def report(name: str, figures: dict) -> None:
    seconds = figures["seconds"]
    print(
        f"{name:<14} {seconds:8.2f} s  {figures['responses'] / seconds:>10,.0f} responses/s  "
        f"{figures['rows'] / seconds:>11,.0f} rows/s  {figures['bytes'] / 1e6:8.1f} MB  "
        f"peak RSS {figures['peak_mb']:6.0f} MB"
    )


def main() -> None:
    args = parse_args()
    if args.child == "load":
        print(json.dumps(child_load(args)))
        return
    if args.child == "store":
        print(json.dumps(child_store(args)))
        return
    if args.child == "export":
        print(json.dumps(child_export(args)))
        return
    if args.child in ("copy-answers", "copy-json"):
        print(json.dumps(child_copy(args, args.child.removeprefix("copy-"))))
        return
    prepare(args)
    run_child("copy-answers", args)  # warm the cache once, so neither side pays for the disk
    copy_answers = run_child("copy-answers", args)
    copy_json = run_child("copy-json", args)
    store = run_child("store", args)
    print(
        f"stored the cells of {store['stored']:,} responses in {store['seconds']:.1f} s "
        f"(peak RSS {store['peak_mb']:.0f} MB)"
    )
    made = run_child("export", args, EXPORT_STORED_CELLS="false")
    export = run_child("export", args)
    print(f"\n{args.n:,} responses loaded; {export['responses']:,} valid exported\n")
    report("export (CSV)", export)
    report("cells made", made)
    report("copy answers", copy_answers)
    report("copy json", copy_json)
    ratio = (export["responses"] / export["seconds"]) / (
        copy_answers["responses"] / copy_answers["seconds"]
    )
    print(f"\nexport / COPY of the answer rows, in responses per second: {ratio:.2f}")
    rate = export["responses"] / export["seconds"]
    copy_rate = copy_json["responses"] / copy_json["seconds"]
    print(f"export / COPY of the answers' JSON, in responses per second: {rate / copy_rate:.2f}")
    made_rate = made["responses"] / made["seconds"]
    print(f"the same, every cell made from the answers: {made_rate / copy_rate:.2f}")
    summary = {
        "bench": "export",
        "n": args.n,
        "rows_per_s": round(rate, 1),
        "copy_rows_per_s": round(copy_rate, 1),
        "ratio": round(rate / copy_rate, 3),
        "made_ratio": round(made_rate / copy_rate, 3),
        "store_seconds": round(store["seconds"], 1),
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
