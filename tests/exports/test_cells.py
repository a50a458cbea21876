"""Stored cells of the wide CSV (``exports.cells``): an export that reads them is byte for
byte the export that makes every cell, whatever is stored, and the job keeps them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.models import AnalysisRun
from analysis.services.runs import analysis_run_execute, analysis_run_request
from exports.cells import answer_cells_store
from exports.exporters.base import ExportOptions, csv_chunks
from exports.exporters.responses_wide import ResponsesWide
from exports.models import AnswerCells
from survey.models import Option, Response
from survey.services.responses import answers_digest
from tests.analysis.jobs import sent  # noqa: F401  (a fixture)
from tests.exports.support import submit
from tests.exports.test_wide_sql import PythonWide, awkward  # noqa: F401  (a fixture)
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.django_db]

OPTIONS = [
    {},
    {"values": "codes"},
    {"language": "en", "labels": True},
    {"identity": True, "bom": False},
]


@pytest.fixture(autouse=True)
def no_pass_remembered():
    """Which passes are complete is kept in the cache, which outlives a test's transaction."""
    from django.core.cache import cache

    cache.clear()


def export(questionnaire, exporter=ResponsesWide, **options) -> bytes:
    made = exporter(
        questionnaire=questionnaire,
        responses=Response.objects.filter(questionnaire=questionnaire),
        options=ExportOptions(**options),
    )
    return b"".join(csv_chunks(made))


def store(questionnaire, **kwargs) -> int:
    done = answer_cells_store(questionnaire_id=questionnaire.pk, **kwargs)
    assert done.resume is None  # without a time limit, a pass goes to its end
    return done.count


def lines_of(body: bytes) -> list[bytes]:
    return body.split(b"\r\n")


@pytest.mark.postgres
@pytest.mark.parametrize("options", OPTIONS, ids=["labels", "codes", "english", "identity"])
def test_an_export_reading_stored_cells_is_the_export_that_makes_them(awkward, options):  # noqa: F811
    made = export(awkward, PythonWide, **options)
    assert store(awkward) == Response.objects.filter(questionnaire=awkward).count()
    assert export(awkward, **options) == made
    assert b"\r\n" in made and made.count(b"\r\n") >= 10


@pytest.mark.postgres
def test_the_export_reads_the_stored_cells_when_they_match(ipb):
    response = submit(ipb, complete_answers(Q18="written by the form"))
    assert store(ipb) == 1
    stored = AnswerCells.objects.get(response=response)
    assert "written by the form" in stored.cells
    # Proof of the read: cells changed behind the export's back are what it writes.
    AnswerCells.objects.filter(pk=response.pk).update(cells=stored.cells.replace("form", "cache"))
    assert b"written by the cache" in export(ipb)


@pytest.mark.postgres
def test_cells_made_from_other_answers_are_not_read(ipb):
    response = submit(ipb, complete_answers(Q18="before"))
    store(ipb)
    answers = {**response.answers, "Q18": "after"}
    Response.objects.filter(pk=response.pk).update(
        answers=answers, answers_digest=answers_digest(answers)
    )
    body = export(ipb)
    assert b"after" in body and b"before" not in body
    assert body == export(ipb, PythonWide)
    assert store(ipb) == 1  # the job makes that response's cells again
    assert "after" in AnswerCells.objects.get(pk=response.pk).cells


@pytest.mark.postgres
def test_a_changed_label_makes_the_stored_cells_stale_until_the_job_makes_them_again(ipb):
    submit(ipb, complete_answers(D1=2))
    submit(ipb, complete_answers(D1=1))
    assert store(ipb) == 2
    Option.objects.filter(question__questionnaire=ipb, question__code="D1", code="2").update(
        label={"zh-hans": "女性"}
    )
    ipb.save()  # the structure cache follows updated_at
    body = export(ipb)
    assert "女性".encode() in body
    assert body == export(ipb, PythonWide)
    assert store(ipb) == 2  # every row was made under the old labels
    assert store(ipb) == 0
    assert export(ipb) == body


@pytest.mark.postgres
def test_status_weight_and_quota_cells_are_made_at_each_export(ipb):
    response = submit(ipb, complete_answers())
    store(ipb)
    before = export(ipb)
    Response.objects.filter(pk=response.pk).update(
        status=Response.Status.FLAGGED, speeder=True, weight=2.5
    )
    ipb.__class__.objects.filter(pk=ipb.pk).update(weights={"from": "file"})
    ipb.refresh_from_db()
    after = export(ipb)
    assert after != before
    assert after == export(ipb, PythonWide)
    assert store(ipb) == 0  # no cell that is stored changed


@pytest.mark.postgres
@pytest.mark.parametrize("page", [1, 2, 5000])
def test_storing_goes_a_page_at_a_time_and_misses_none(ipb, settings, page):
    settings.EXPORT_STORE_PAGE = page
    for _ in range(5):
        submit(ipb)
    assert store(ipb) == 5
    assert AnswerCells.objects.filter(response__questionnaire=ipb).count() == 5
    assert store(ipb) == 0


@pytest.mark.postgres
def test_a_pass_cut_into_slices_stores_every_response_once(ipb, settings):
    settings.EXPORT_STORE_PAGE = 2
    for _ in range(5):
        submit(ipb)
    counts, resume = [], None
    while True:
        done = answer_cells_store(questionnaire_id=ipb.pk, resume=resume, seconds=0)
        counts.append(done.count)
        if done.resume is None:
            break
        resume = done.resume
    assert counts == [2, 2, 1]  # a page per slice; the last one ends the pass
    assert AnswerCells.objects.count() == 5
    submit(ipb)
    assert store(ipb, every=False) == 1  # the sliced pass was remembered as complete


@pytest.mark.postgres
def test_a_pass_whose_definition_changes_on_the_way_starts_again(ipb, settings):
    settings.EXPORT_STORE_PAGE = 2
    for _ in range(5):
        submit(ipb)
    first = answer_cells_store(questionnaire_id=ipb.pk, every=False, seconds=0)
    assert first.count == 0  # no complete pass remembered: incremental passes wait for one
    first = answer_cells_store(questionnaire_id=ipb.pk, seconds=0)
    assert first.count == 2 and first.resume is not None
    Option.objects.filter(question__questionnaire=ipb, question__code="D1", code="2").update(
        label={"zh-hans": "女性"}
    )
    ipb.save()  # the structure cache follows updated_at
    rest, resume = 0, first.resume
    while resume is not None:
        done = answer_cells_store(questionnaire_id=ipb.pk, every=False, resume=resume, seconds=0)
        rest, resume = rest + done.count, done.resume
    assert rest == 5  # all of them again, under the new labels
    assert store(ipb, every=False) == 0 and store(ipb) == 0
    assert export(ipb) == export(ipb, PythonWide)


@pytest.mark.postgres
def test_the_task_sends_the_rest_of_its_pass_as_a_new_task(ipb, settings, sent):  # noqa: F811
    from exports.cells import STORE_TASK, answer_cells_job

    settings.EXPORT_STORE_PAGE = 2
    settings.EXPORT_STORE_SLICE_SECONDS = 0
    for _ in range(3):
        submit(ipb)
    assert answer_cells_job(ipb.pk) == 2
    [(name, args, _kwargs)] = sent.calls
    assert name == STORE_TASK and args[:2] == [ipb.pk, True]
    assert answer_cells_job(*args) == 1
    assert len(sent.calls) == 1  # the pass is over: nothing more sent
    assert AnswerCells.objects.count() == 3


@pytest.mark.postgres
def test_an_incremental_pass_with_no_complete_pass_remembered_leaves_them_to_a_full_one(ipb):
    from django.core.cache import cache

    submit(ipb)
    cache.delete(f"exports:cells:{ipb.pk}")  # a restarted cache, or a new definition
    assert store(ipb, every=False) == 0
    assert store(ipb) == 1
    submit(ipb)
    assert store(ipb, every=False) == 1


@pytest.mark.postgres
def test_a_pass_after_the_last_only_looks_at_newer_responses(ipb):
    older = submit(ipb)
    assert store(ipb) == 1
    AnswerCells.objects.filter(pk=older.pk).delete()  # as if made under another stamp
    submit(ipb)
    assert store(ipb, every=False) == 1  # the new one only
    assert store(ipb) == 1  # a full pass finds the older one


@pytest.mark.postgres
def test_a_deleted_response_takes_its_cells_with_it(ipb):
    gone = submit(ipb)
    kept = submit(ipb)
    store(ipb)
    gone.delete()
    assert list(AnswerCells.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.postgres
def test_stored_cells_cost_the_export_no_statement_per_response(ipb, settings):
    settings.EXPORT_PAGE_SIZE = 2
    for _ in range(4):
        submit(ipb)
    store(ipb)
    exporter = ResponsesWide(
        questionnaire=ipb, responses=Response.objects.filter(questionnaire=ipb),
        options=ExportOptions(),
    )  # fmt: skip
    exporter.columns()
    with CaptureQueriesContext(connection) as four:
        assert len(list(exporter.csv_lines())) == 4
    for _ in range(4):
        submit(ipb)
    store(ipb)
    with CaptureQueriesContext(connection) as eight:
        assert len(list(exporter.csv_lines())) == 8
    per_page = (len(eight) - len(four)) / 2  # two more pages of two
    assert per_page == len(four) / 3  # pages of 2, 2 and an empty one: the same per page


@pytest.mark.postgres
def test_the_job_runs_after_an_analysis_run(ipb, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    for _ in range(3):
        submit(ipb)
    with django_capture_on_commit_callbacks(execute=True):
        run = analysis_run_request(questionnaire_id=ipb.pk, trigger=AnalysisRun.Trigger.MANUAL)
    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.DONE
    assert AnswerCells.objects.filter(response__questionnaire=ipb).count() == 3


@pytest.mark.postgres
def test_with_stored_cells_off_nothing_is_stored(ipb, settings):
    settings.EXPORT_STORED_CELLS = False
    submit(ipb)
    assert store(ipb) == 0
    assert not AnswerCells.objects.exists()


def test_cells_are_stored_only_on_postgresql_and_the_export_is_the_same_either_way(ipb):
    submit(ipb)
    on_postgresql = connection.vendor == "postgresql"
    assert store(ipb) == (1 if on_postgresql else 0)  # SQLite: the Python writer, no SQL lines
    assert AnswerCells.objects.exists() == on_postgresql
    assert export(ipb) == export(ipb, PythonWide)


def test_a_run_ends_done_whether_or_not_cells_are_stored_after_it(
    ipb, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    submit(ipb)
    run = analysis_run_request(
        questionnaire_id=ipb.pk, trigger=AnalysisRun.Trigger.MANUAL, dispatch=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_run_execute(run_id=run.pk).status == AnalysisRun.Status.DONE
    assert AnswerCells.objects.exists() == (connection.vendor == "postgresql")


@pytest.mark.postgres
def test_beat_starts_a_full_pass_where_no_pass_under_the_present_stamp_is_known(
    ipb,
    settings,
    sent,  # noqa: F811
):
    from exports.cells import STORE_TASK, answer_cells_catch_up

    submit(ipb)
    assert answer_cells_catch_up() == [ipb.pk]  # never stored (or the cache forgot)
    assert sent.named(STORE_TASK) == [[ipb.pk, True, None]]
    store(ipb)
    sent.clear()
    assert answer_cells_catch_up() == []  # a complete pass is remembered
    Option.objects.filter(question__questionnaire=ipb, question__code="D1", code="2").update(
        label={"zh-hans": "女性"}
    )
    ipb.save()  # labels edited: no analysis run is asked, the stamp changes
    assert answer_cells_catch_up() == [ipb.pk]
    assert sent.named(STORE_TASK) == [[ipb.pk, True, None]]


@pytest.mark.postgres
def test_beat_leaves_a_pass_on_its_way_alone(ipb, settings, sent):  # noqa: F811
    from exports.cells import answer_cells_catch_up

    settings.EXPORT_STORE_PAGE = 1
    submit(ipb)
    submit(ipb)
    assert answer_cells_store(questionnaire_id=ipb.pk, seconds=0).resume is not None
    assert answer_cells_catch_up() == []  # its next slice is queued
    assert not sent.calls


def test_beat_has_the_catch_up_on_its_schedule():
    from config.celery import app as celery_app

    celery_app.loader.import_default_modules()
    assert "exports.store_cells_catch_up" in celery_app.tasks
    entry = celery_app.conf.beat_schedule["exports.store_cells_catch_up"]
    assert entry["task"] == "exports.store_cells_catch_up"
