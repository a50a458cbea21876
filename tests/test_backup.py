"""Backup and restore of PostgreSQL as docs/operations.md tells it: ``pg_dump -Fc``, then
``createdb`` and ``pg_restore`` into a fresh database, gives back every row, and an analysis
re-run on the restored database gives the very results the original had."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

from analysis.services.runs import analysis_run_execute, analysis_run_request
from survey.services.identity import Identity
from survey.services.responses import response_submit
from tests.analysis.generate import generate_responses
from tests.survey.answers import complete_answers

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: later serialized tests find the content types this flush removed
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Every table of ours whose rows a restore must give back.
TABLES = (
    "survey_questionnaire",
    "survey_question",
    "survey_option",
    "survey_item",
    "survey_respondent",
    "survey_response",
    "survey_answer",
    "survey_auditevent",
)


def _connection_args() -> tuple[dict[str, str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = {"-h": db.get("HOST") or "127.0.0.1", "-p": str(db.get("PORT") or 5432)}
    if db.get("USER"):
        args["-U"] = db["USER"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(tool: str, *arguments: str) -> None:
    args, env = _connection_args()
    flags = [part for pair in args.items() for part in pair]
    subprocess.run([tool, *flags, *arguments], check=True, env=env, capture_output=True)


def _connect(dbname: str) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname=dbname,
    )


def _fingerprint(dbname: str) -> dict[str, object]:
    with _connect(dbname) as connection:
        counts = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        digest = connection.execute(
            "SELECT md5(string_agg(r.answers::text || r.status || r.submitted_at::text, ','"
            " ORDER BY r.id)) FROM survey_response r"
        ).fetchone()[0]
    return {**counts, "responses digest": digest}


@contextlib.contextmanager
def _restored(source: str, tmp_path: Path) -> Iterator[str]:
    """As docs/operations.md says: pg_dump -Fc, createdb, pg_restore; the fresh database's
    name, dropped afterwards."""
    dump = tmp_path / "wenji.dump"
    restored = f"wenji_restore_{uuid.uuid4().hex[:8]}"
    _run("pg_dump", "-Fc", "-f", str(dump), source)
    _run("createdb", restored)
    try:
        _run("pg_restore", "--no-owner", "-d", restored, str(dump))
        yield restored
    finally:
        _run("dropdb", "--if-exists", restored)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs PostgreSQL's client tools")
def test_a_dump_restored_into_a_fresh_database_gives_back_every_row(ipb, tmp_path):
    for number in range(5):
        response_submit(
            questionnaire=ipb,
            answers=complete_answers(D1=1 + number % 2),
            submission_id=uuid.uuid4(),
            channel="wechat",
            identity=Identity("wechat", f"o{number}"),
        )
    source = settings.DATABASES["default"]["NAME"]
    with _restored(source, tmp_path) as restored:
        before, after = _fingerprint(source), _fingerprint(restored)
    assert after == before
    assert before["survey_response"] == 5 and before["survey_answer"] > 5


def _database_url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db.get('PORT') or 5432}/{dbname}"


def _latest_results(dbname: str) -> dict:
    with _connect(dbname) as connection:
        row = connection.execute(
            "SELECT results FROM analysis_analysisrun WHERE status = 'done' "
            "ORDER BY finished_at DESC, id DESC LIMIT 1"
        ).fetchone()
    assert row is not None, f"no finished run in {dbname}"
    return row[0]


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs PostgreSQL's client tools")
def test_an_analysis_re_run_on_the_restored_database_gives_the_same_results(
    ipb, tmp_path, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    generate_responses(questionnaire=ipb, count=40, seed=9)
    run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual", dispatch=False)
    analysis_run_execute(run_id=run.pk)
    source = settings.DATABASES["default"]["NAME"]
    before = _latest_results(source)
    with _restored(source, tmp_path) as restored:
        # as an operator would after restoring: re-run the analysis on the restored database
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(restored),
            "REDIS_URL": "",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "DEBUG": "false",
        }
        subprocess.run(
            [sys.executable, "manage.py", "analysis_run", ipb.slug, "--here"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        after = _latest_results(restored)
    assert after == before
    assert after["validity"]["collected"] == 40
