"""Export benchmark: the wide CSV of N responses through the real exporter, beside PostgreSQL's
own COPY of the same responses' answer rows.

    .venv/bin/python bench/export/run.py [--n 100000] [--db wenji_bench_export] [--reuse]

Creates the database ``wenji_bench_export`` (dropped and made again unless ``--reuse`` finds N
responses in it), migrates it, imports the reference questionnaire and bulk-loads N responses
with realistic ``answers`` JSON and their answer rows with COPY. Then, each in its own child
process (so memory peaks do not mix), it measures:

- ``export``: ``exports.services.export_stream_csv`` (the code behind
  ``GET .../exports/responses.csv``), wide, valid responses, every chunk written to /dev/null;
- ``copy answers``: ``COPY (SELECT … FROM survey_answer JOIN survey_response …) TO STDOUT`` of
  the same responses' answer rows, read by psycopg and discarded;
- ``copy json``: the same for ``survey_response.answers`` (one JSON document per response).

It prints seconds, responses/s, rows/s, MB written and the child's peak RSS
(``ru_maxrss``), and the ratio export / COPY in responses per second (the goal: at least
0.5). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"
SLUG = "ipb-survey"
BENCH_USER = "bench-export"
COMMENTS = [
    "线上线下要结合",
    '希望简化流程，减少"打卡"',
    "内容可以更丰富, 更新更及时",
    "=建议增加互动功能",
    "没有",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="responses to load")
    parser.add_argument("--db", default="wenji_bench_export")
    parser.add_argument("--reuse", action="store_true", help="keep a database that has N")
    parser.add_argument("--child", choices=["load", "export", "copy-answers", "copy-json"])
    return parser.parse_args()


def environment(db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{db}",
        SECRET_KEY="bench-" + "k" * 50,
        IDENTITY_HASH_KEY="bench-identity-key",
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


def run_child(kind: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--n", str(args.n), "--db", args.db]
    out = subprocess.run(
        command, env=environment(args.db), cwd=ROOT, check=True, capture_output=True, text=True
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


def random_answers(rng: random.Random) -> dict:
    def pick(n: int) -> int:
        return rng.randint(1, n)

    def some(n: int, most: int | None = None) -> list[int]:
        return sorted(rng.sample(range(1, n + 1), rng.randint(1, most or n)))

    q15 = pick(3)
    answers = {
        "D1": pick(2), "D2": pick(6), "D3": pick(5), "D4": pick(5), "D5": pick(2),
        "D6": 8 if rng.random() < 0.05 else pick(7),
        "Q2": {k: rng.randint(0, 8) for k in "abcd"},
        "Q3": pick(5), "Q4": pick(5), "Q1": pick(4),
        "Q5": {k: pick(4) for k in "abcde"},
        "Q17": 2 if rng.random() < 0.97 else 1,
        "Q6": {k: pick(4) for k in "abcdef"},
        "Q7": {k: pick(4) for k in "abcdefg"},
        "Q8": some(7, 3), "Q9": [7] if rng.random() < 0.1 else some(6), "Q10": some(5),
        "Q14": pick(4), "Q15": q15,
        "Q11": some(5), "Q12": some(3), "Q13": some(6), "Q16": some(5, 2),
    }  # fmt: skip
    if answers["D6"] == 8:
        answers["D6.other"] = "街道办事处"
    if 7 in answers["Q8"]:
        answers["Q8.other"] = "手机内存不够"
    if 5 in answers["Q10"]:
        answers["Q10.other"] = "多一些案例"
    if q15 == 1 and rng.random() < 0.3:
        answers["Q15R"] = rng.choice(COMMENTS)
    if rng.random() < 0.2:
        answers["Q18"] = rng.choice(COMMENTS)
    return answers


def copy_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def answer_lines(response_id: int, answers: dict, ids: dict) -> list[str]:
    """The Answer rows of one response in COPY text format (as ``answer_rows`` makes them)."""
    lines = []
    for code, value in answers.items():
        if code.endswith(".other"):
            continue
        qid, qtype = ids["questions"][code]
        options = ids["options"].get(code, {})
        if qtype in ("single", "multiple"):
            other = copy_text(answers.get(f"{code}.other", ""))
            for chosen in value if isinstance(value, list) else [value]:
                text = other if ids["other"].get((code, str(chosen))) else ""
                lines.append(f"{response_id}\t{qid}\t\\N\t{options[str(chosen)]}\t\\N\t{text}\n")
        elif qtype == "matrix":
            for item, scale in value.items():
                item_id = ids["items"][code][item]
                lines.append(f"{response_id}\t{qid}\t{item_id}\t{options[str(scale)]}\t\\N\t\n")
        elif qtype == "number_grid":
            for item, number in value.items():
                item_id = ids["items"][code][item]
                lines.append(f"{response_id}\t{qid}\t{item_id}\t\\N\t{number}\t\n")
        else:
            lines.append(f"{response_id}\t{qid}\t\\N\t\\N\t\\N\t{copy_text(value)}\n")
    return lines


def definition_ids(questionnaire) -> dict:
    from survey.structure import structure_for

    structure = structure_for(questionnaire)
    questions = structure.questions.values()
    return {
        "questions": {q.code: (q.id, q.type) for q in questions},
        "options": {q.code: {o.code: o.id for o in q.options.values()} for q in questions},
        "other": {(q.code, o.code): o.is_other for q in questions for o in q.options.values()},
        "items": {q.code: {i.code: i.id for i in q.items.values()} for q in questions},
    }


def response_line(response_id: int, qid: int, version: int, answers: dict, rng) -> str:
    document = json.dumps(answers, ensure_ascii=False, separators=(",", ":"))
    submitted = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(seconds=response_id * 7)
    duration = rng.uniform(120, 1200)
    started = submitted - timedelta(seconds=duration)
    attention = answers["Q17"] != 2
    status = "invalid" if attention else ("flagged" if rng.random() < 0.03 else "valid")
    straight = status == "flagged"
    fields = [
        str(response_id),
        str(qid),
        "\\N",  # respondent
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        hashlib.sha256(document.encode()).hexdigest(),
        copy_text(document),
        "api",
        str(version),
        status,
        "f",
        "t" if attention else "f",
        "f",
        "t" if straight else "f",
        "f",
        "",
        started.isoformat(),
        submitted.isoformat(),
        f"{duration:.3f}",
        hashlib.sha256(str(response_id % 5000).encode()).hexdigest(),
        submitted.isoformat(),
    ]
    return "\t".join(fields) + "\n"


RESPONSE_COLUMNS = (
    "id, questionnaire_id, respondent_id, submission_id, answers_digest, answers, channel, "
    "definition_version, status, speeder, attention_failed, duplicate, straightlined, "
    "status_provisional, manual_status, started_at, submitted_at, duration_seconds, ip_hash, "
    "received_at"
)
ANSWER_COLUMNS = "response_id, question_id, item_id, option_id, number, text"


def drop_secondary_indexes(url: str) -> list[str]:
    """Drop the non-unique indexes of the two tables; give back their definitions. Building
    them once after the load is much faster than maintaining them row by row."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('survey_response', 'survey_answer') AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        ).fetchall()
        for name, _definition in rows:
            conn.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


def child_load(args: argparse.Namespace) -> dict:
    """Import the questionnaire and COPY N responses and their answer rows (two connections,
    foreign-key triggers off while loading, as a restore does)."""
    django_setup()
    import psycopg
    from django.contrib.auth.models import User

    from survey.interchange import load_definition
    from survey.services.questionnaires import questionnaire_import, questionnaire_publish

    definition = load_definition((ROOT / "examples/ipb-survey.yaml").read_text())
    questionnaire = questionnaire_publish(questionnaire=questionnaire_import(definition=definition))
    User.objects.create_superuser(BENCH_USER, password=None)
    ids = definition_ids(questionnaire)
    rng = random.Random(2024)
    started = time.perf_counter()
    answers_written = 0
    url = f"{PG}/{args.db}"
    indexes = drop_secondary_indexes(url)
    with psycopg.connect(url) as responses_conn, psycopg.connect(url) as answers_conn:
        for conn in (responses_conn, answers_conn):
            conn.execute("SET session_replication_role = replica")
        with (
            responses_conn.cursor().copy(
                f"COPY survey_response ({RESPONSE_COLUMNS}) FROM STDIN"
            ) as responses_copy,
            answers_conn.cursor().copy(
                f"COPY survey_answer ({ANSWER_COLUMNS}) FROM STDIN"
            ) as answers_copy,
        ):
            response_block: list[str] = []
            answer_block: list[str] = []
            for response_id in range(1, args.n + 1):
                answers = random_answers(rng)
                version = questionnaire.definition_version
                response_block.append(
                    response_line(response_id, questionnaire.pk, version, answers, rng)
                )
                answer_block.extend(answer_lines(response_id, answers, ids))
                if response_id % 5000 == 0 or response_id == args.n:
                    responses_copy.write("".join(response_block))
                    answers_copy.write("".join(answer_block))
                    answers_written += len(answer_block)
                    response_block.clear()
                    answer_block.clear()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for definition in indexes:
            conn.execute(definition)
        conn.execute("SELECT setval(pg_get_serial_sequence('survey_response', 'id'), %s)", [args.n])
        conn.execute("VACUUM ANALYZE survey_response")
        conn.execute("VACUUM ANALYZE survey_answer")
    return {"seconds": time.perf_counter() - started, "answers": answers_written}


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
    export = run_child("export", args)
    print(f"\n{args.n:,} responses loaded; {export['responses']:,} valid exported\n")
    report("export (CSV)", export)
    report("copy answers", copy_answers)
    report("copy json", copy_json)
    ratio = (export["responses"] / export["seconds"]) / (
        copy_answers["responses"] / copy_answers["seconds"]
    )
    print(f"\nexport / COPY of the answer rows, in responses per second: {ratio:.2f} (goal 0.50)")


if __name__ == "__main__":
    main()
