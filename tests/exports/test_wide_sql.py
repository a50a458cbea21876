"""The wide CSV made by PostgreSQL (``exports.exporters.wide_sql``) is byte for byte the CSV the
Python writer makes from ``ResponsesWide.rows()``, whatever the answers and options."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exports.exporters.base import ExportOptions, csv_chunks
from exports.exporters.responses_wide import ResponsesWide
from exports.exporters.wide_sql import csv_cell
from survey.models import Option, Response
from tests.exports.support import submit
from tests.exports.test_formats import TRICKY, varied_answers
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


class PythonWide(ResponsesWide):
    """The same export, formatted by the Python writer from ``rows()``."""

    def csv_lines(self):
        return None


def both(questionnaire, **options) -> tuple[bytes, bytes]:
    responses = Response.objects.filter(questionnaire=questionnaire)
    opts = ExportOptions(**options)
    made_by_sql = ResponsesWide(questionnaire=questionnaire, responses=responses, options=opts)
    assert made_by_sql.csv_lines() is not None  # the database makes the lines here
    made_by_python = PythonWide(questionnaire=questionnaire, responses=responses, options=opts)
    return b"".join(csv_chunks(made_by_sql)), b"".join(csv_chunks(made_by_python))


@pytest.fixture
def awkward(ipb):
    """Responses whose cells test every rule: quotes, commas, line breaks, formula triggers,
    text starting with quotes, every status and flag, a hidden option, a respondent identity,
    times without a start, and stored values no option has (older or imported data)."""
    for answers in varied_answers():
        submit(ipb, answers, identity="someone")
    submit(ipb, complete_answers(Q17=4), duration=3.5)  # invalid: the attention check
    submit(ipb, complete_answers(Q18="'=already quoted", **{"D6": 8, "D6.other": "a,b"}))
    submit(ipb, complete_answers(Q18='"quoted" \r\n and \t tabbed'))
    odd = submit(ipb, complete_answers(Q18="-"))
    answers = dict(odd.answers)
    answers.update(D1=99, D2="1", Q5={**answers["Q5"], "a": 42}, Q9=[])
    Response.objects.filter(pk=odd.pk).update(
        answers=answers, started_at=None, duration_seconds=None, ip_hash=""
    )
    flagged = submit(ipb, complete_answers(D1=2))
    july = timezone.now().replace(year=2026, month=7, day=1, microsecond=123456)
    Response.objects.filter(pk=flagged.pk).update(
        speeder=True, straightlined=True, status=Response.Status.FLAGGED,
        submitted_at=july, started_at=july - timedelta(seconds=90.25), duration_seconds=90.25,
    )  # fmt: skip
    Option.objects.filter(question__questionnaire=ipb, question__code="D1", code="2").update(
        hidden=True
    )
    ipb.save()  # the structure cache follows updated_at
    return ipb


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"values": "codes"},
        {"language": "en", "labels": True},
        {"identity": True, "bom": False},
        {"values": "codes", "identity": True, "labels": True, "language": "en"},
    ],
    ids=["labels", "codes", "english", "identity", "all"],
)
def test_the_database_writes_the_same_bytes_as_the_python_writer(awkward, options):
    made_by_sql, made_by_python = both(awkward, **options)
    assert made_by_sql.count(b"\r\n") >= 10
    assert made_by_sql == made_by_python


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "UTC"])
def test_times_are_written_alike_in_any_time_zone(awkward, settings, zone):
    settings.TIME_ZONE = zone  # summer and winter offsets, half hours, zero
    made_by_sql, made_by_python = both(awkward)
    assert made_by_sql == made_by_python


def test_the_same_bytes_with_weights_and_quotas_columns(ipb):
    from survey.models import Quota

    for answers in varied_answers():
        submit(ipb, answers)
    Response.objects.filter(questionnaire=ipb).update(weight=1.25, over_quota=True)
    Response.objects.filter(pk=Response.objects.filter(questionnaire=ipb).first().pk).update(
        weight=3.0, over_quota=False
    )
    ipb.__class__.objects.filter(pk=ipb.pk).update(weights={"from": "file"})
    ipb.refresh_from_db()
    Quota.objects.create(questionnaire=ipb, code="gender", label="gender", of=["D1"])
    made_by_sql, made_by_python = both(ipb)
    assert b"weight" in made_by_sql.split(b"\r\n")[0] and b"over_quota" in made_by_sql
    assert made_by_sql == made_by_python


def test_tricky_text_is_quoted_and_escaped_in_the_database_as_in_python(ipb):
    submit(ipb, complete_answers(Q18=TRICKY))
    made_by_sql, made_by_python = both(ipb)
    assert csv_cell(TRICKY).encode() in made_by_sql
    assert made_by_sql == made_by_python


@pytest.mark.parametrize("page", [1, 3, 10000])
def test_pages_of_any_size_give_the_same_bytes_in_order(awkward, settings, page):
    settings.EXPORT_PAGE_SIZE = page  # one response, a few, all at once
    made_by_sql, made_by_python = both(awkward)
    assert made_by_sql == made_by_python


def test_the_lines_come_from_one_statement_whatever_the_number_of_responses(ipb):
    for _ in range(3):
        submit(ipb)
    exporter = ResponsesWide(
        questionnaire=ipb, responses=Response.objects.filter(questionnaire=ipb),
        options=ExportOptions(),
    )  # fmt: skip
    exporter.columns()  # the header's reads of the definition
    with CaptureQueriesContext(connection) as three:
        assert len(list(exporter.csv_lines())) == 3
    for _ in range(7):
        submit(ipb)
    with CaptureQueriesContext(connection) as ten:
        assert len(list(exporter.csv_lines())) == 10
    assert len(ten) == len(three)
    assert exporter.responses_done == 13
