"""Analysis runs as rows: the queue, the claim, progress, results, failures, the reaper."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from analysis import tasks
from analysis.models import AnalysisPartial, AnalysisRun
from analysis.selectors import latest_successful_run
from analysis.services import runs
from analysis.services.aggregate import DefinitionChanged
from analysis.services.runs import (
    analysis_run_chunk,
    analysis_run_execute,
    analysis_run_finish,
    analysis_run_request,
    analysis_runs_reap,
)
from survey.models import Response
from survey.services.questionnaires import questionnaire_definition_changed
from tests.analysis import jobs
from tests.analysis.jobs import submit

eager, sent = jobs.eager, jobs.sent  # fixtures

pytestmark = pytest.mark.django_db

Status = AnalysisRun.Status


def request(questionnaire, trigger=AnalysisRun.Trigger.MANUAL, **kwargs):
    kwargs.setdefault("dispatch", False)
    return analysis_run_request(questionnaire_id=questionnaire.pk, trigger=trigger, **kwargs)


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


class FakeChord:
    """Stands in for celery.chord: records the chunk and finish signatures it was given."""

    sent: list[tuple[list, object]] = []

    def __init__(self, header, app=None):
        self.header = list(header)

    def __call__(self, body):
        FakeChord.sent.append((self.header, body))


@pytest.fixture
def chords(monkeypatch):
    FakeChord.sent = []
    monkeypatch.setattr(runs, "chord", FakeChord)
    return FakeChord.sent


def run_chord_by_hand(header, body):
    """What the workers and the result backend do: every chunk, JSON in between, then finish."""
    partials = [json.loads(json.dumps(analysis_run_chunk(**sig.kwargs))) for sig in header]
    analysis_run_finish(partials=partials, **body.kwargs)


# --- the queue -------------------------------------------------------------------------------


def test_requesting_a_run_while_one_is_queued_gives_back_the_queued_run(ipb):
    first = request(ipb)
    again = request(ipb, AnalysisRun.Trigger.NEW_DATA)
    assert again.pk == first.pk
    assert AnalysisRun.objects.filter(questionnaire=ipb).count() == 1


def test_the_database_refuses_a_second_queued_run_of_a_questionnaire(ipb):
    AnalysisRun.objects.create(questionnaire=ipb, trigger="manual")
    with pytest.raises(IntegrityError), transaction.atomic():
        AnalysisRun.objects.create(questionnaire=ipb, trigger="new_data")


def test_the_database_refuses_a_second_running_run_of_a_questionnaire(ipb):
    AnalysisRun.objects.create(questionnaire=ipb, trigger="manual", status=Status.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        AnalysisRun.objects.create(questionnaire=ipb, trigger="manual", status=Status.RUNNING)


def test_a_run_for_a_questionnaire_that_does_not_exist_is_not_requested(db):
    assert analysis_run_request(questionnaire_id=987654, trigger="new_data") is None
    assert AnalysisRun.objects.count() == 0


def test_a_new_run_is_sent_to_the_workers_only_when_the_transaction_commits(
    ipb, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = request(ipb, dispatch=True)
        assert sent.calls == []
    assert sent.named("analysis.run") == [[run.pk]]


# --- executing -------------------------------------------------------------------------------


def test_a_run_goes_from_queued_to_done_with_rising_progress_counts_and_results(ipb, eager):
    submit(ipb, 12)
    run = request(ipb)
    assert (run.status, run.progress, run.attempts) == (Status.QUEUED, 0, 0)
    seen = []
    done = analysis_run_execute(run_id=run.pk, on_progress=lambda p, _note: seen.append(p))
    assert (done.status, done.progress, done.attempts) == (Status.DONE, 100, 1)
    assert seen == sorted(seen) and seen[0] < 20 and seen[-1] == 100
    assert done.started_at <= done.finished_at
    assert done.counts["collected"] == 12 and done.response_count == 12
    assert done.definition_version == ipb.definition_version
    done.refresh_from_db()
    assert done.results["base"]["valid"] == done.counts["valid"]
    assert done.results["validity"] == done.counts
    assert latest_successful_run(ipb).pk == run.pk


def test_a_questionnaire_without_responses_gets_empty_results_not_an_error(ipb, eager):
    done = analysis_run_execute(run_id=request(ipb).pk)
    assert done.status == Status.DONE
    assert done.counts["collected"] == 0


def test_executing_a_finished_run_again_does_nothing(ipb, eager):
    submit(ipb, 3)
    run = request(ipb)
    analysis_run_execute(run_id=run.pk)
    finished = AnalysisRun.objects.get(pk=run.pk)
    assert analysis_run_execute(run_id=run.pk) is None
    again = AnalysisRun.objects.get(pk=run.pk)
    assert (again.attempts, again.finished_at, again.status) == (1, finished.finished_at, "done")


def chunks_of(questionnaire, size: int) -> int:
    """How many fixed ranges of ``size`` ids hold the questionnaire's responses."""
    ids = Response.objects.filter(questionnaire=questionnaire).values_list("id", flat=True)
    return len({pk // size for pk in ids})


def test_many_chunks_give_exactly_the_results_of_one_chunk(ipb, eager, settings):
    submit(ipb, 23, seed=5)
    settings.ANALYSIS_CHUNK_SIZE = 1000
    whole = analysis_run_execute(run_id=request(ipb).pk)
    settings.ANALYSIS_CHUNK_SIZE = 5
    chunked = analysis_run_execute(run_id=request(ipb).pk)
    many = chunks_of(ipb, 5)
    assert many >= 5 and (chunked.chunks_total, chunked.chunks_done) == (many, many)
    assert whole.chunks_total == chunks_of(ipb, 1000)
    whole.refresh_from_db()
    chunked.refresh_from_db()
    assert chunked.results == whole.results


def test_with_workers_the_chunks_go_out_as_a_chord_whose_merge_equals_the_inline_run(
    ipb, eager, settings, chords, django_capture_on_commit_callbacks
):
    submit(ipb, 17, seed=3)
    inline = analysis_run_execute(run_id=request(ipb).pk)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ANALYSIS_CHUNK_SIZE = 4
    run = request(ipb)
    running = analysis_run_execute(run_id=run.pk)
    many = chunks_of(ipb, 4)
    assert (running.status, running.chunks_total, running.progress) == (Status.RUNNING, many, 20)
    ((header, body),) = chords
    assert [sig.task for sig in header] == ["analysis.aggregate_chunk"] * many
    assert body.task == "analysis.finish"
    with django_capture_on_commit_callbacks(execute=True):
        run_chord_by_hand(header, body)
    run.refresh_from_db()
    inline.refresh_from_db()
    assert (run.status, run.progress, run.chunks_done) == (Status.DONE, 100, many)
    assert run.results == inline.results
    # The chunks' partials went through the database and are gone once merged.
    assert not AnalysisPartial.objects.exists()


def test_the_chord_passes_partial_ids_and_the_finish_reads_only_its_attempt_s(
    ipb, sent, settings, chords
):
    submit(ipb, 6, seed=4)
    settings.ANALYSIS_CHUNK_SIZE = 3
    run = request(ipb)
    analysis_run_execute(run_id=run.pk)
    ((header, body),) = chords
    ids = [analysis_run_chunk(**sig.kwargs) for sig in header]
    assert all(isinstance(pk, int) for pk in ids)  # a small chord message at any size
    stored = AnalysisPartial.objects.filter(pk__in=ids)
    assert stored.count() == len(header) == chunks_of(ipb, 3)
    assert {p.attempt for p in stored} == {body.kwargs["attempt"]}
    assert {tuple(p.data["groups"]["all"]) for p in stored} == {
        ("n", "cells", "answered", "score_sums")
    }
    # A partial of another attempt is not this attempt's to merge: the run fails, visibly,
    # rather than finishing with part of the data.
    AnalysisPartial.objects.filter(pk=ids[0]).update(attempt=99)
    with pytest.raises(AnalysisPartial.DoesNotExist):
        analysis_run_finish(partials=ids, **body.kwargs)
    run.refresh_from_db()
    assert run.status == Status.FAILED and "DoesNotExist" in run.error


def test_progress_rises_as_chunks_finish(ipb, sent, settings, chords):
    submit(ipb, 8)
    settings.ANALYSIS_CHUNK_SIZE = 2  # chunks are fixed ranges of ids: 4 or 5 of them here
    run = request(ipb)
    analysis_run_execute(run_id=run.pk)
    ((header, _body),) = chords
    progress = []
    for sig in header:
        analysis_run_chunk(**sig.kwargs)
        run.refresh_from_db()
        progress.append(run.progress)
    total = chunks_of(ipb, 2)
    assert progress == [20 + done * 70 // total for done in range(1, total + 1)]


# --- failures --------------------------------------------------------------------------------


def test_a_failed_run_is_marked_failed_and_the_previous_results_stay(ipb, eager, monkeypatch):
    submit(ipb, 4)
    good = analysis_run_execute(run_id=request(ipb).pk)
    submit(ipb, 2, seed=9)

    def broken(**kwargs):
        raise ValueError("segment rule refers to a question that is gone")

    monkeypatch.setattr(runs, "tables_build", broken)
    run = request(ipb)
    with pytest.raises(ValueError):
        analysis_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.finished_at is not None
    assert run.error == "ValueError: segment rule refers to a question that is gone"
    assert run.results is None
    assert latest_successful_run(ipb).pk == good.pk


def test_a_transient_error_puts_the_run_back_in_the_queue_for_another_attempt(
    ipb, eager, monkeypatch
):
    submit(ipb, 3)
    original = runs.chunk_partial

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(runs, "chunk_partial", locked)
    run = request(ipb)
    with pytest.raises(OperationalError):
        analysis_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress) == (Status.QUEUED, 1, 0)
    assert "database is locked" in run.error
    monkeypatch.setattr(runs, "chunk_partial", original)
    done = analysis_run_execute(run_id=run.pk)
    assert (done.status, done.attempts) == (Status.DONE, 2)


def test_a_run_that_keeps_being_interrupted_fails_after_the_last_attempt(
    ipb, eager, monkeypatch, settings
):
    settings.ANALYSIS_MAX_ATTEMPTS = 2

    def locked(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(runs, "validity_refresh", locked)
    run = request(ipb)
    for _attempt in range(2):
        with pytest.raises(OperationalError):
            analysis_run_execute(run_id=run.pk)
    assert analysis_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert (run.status, run.attempts) == (Status.FAILED, 2)
    assert run.error.startswith("gave up after 2 attempts; last: OperationalError")


def test_a_transient_error_with_workers_sends_the_run_again_after_a_backoff(ipb, sent, monkeypatch):
    def locked(**kwargs):
        raise OperationalError("canceling statement due to lock timeout")

    monkeypatch.setattr(runs, "validity_refresh", locked)
    run = request(ipb)
    with pytest.raises(OperationalError):
        tasks.run(run.pk)
    assert sent.named("analysis.run") == [[run.pk]]
    assert AnalysisRun.objects.get(pk=run.pk).status == Status.QUEUED


def test_a_definition_change_during_aggregation_makes_the_run_start_over(ipb, eager):
    submit(ipb, 3)
    run = request(ipb)

    def edit_while_merging(_progress, note):
        if note.startswith("chunk"):
            questionnaire_definition_changed(questionnaire=ipb)

    with pytest.raises(DefinitionChanged):
        analysis_run_execute(run_id=run.pk, on_progress=edit_while_merging)
    run.refresh_from_db()
    assert run.status == Status.QUEUED
    done = analysis_run_execute(run_id=run.pk)
    assert done.status == Status.DONE and done.definition_version == ipb.definition_version


# --- one at a time, and exactly one follow-up -----------------------------------------------


def test_a_run_requested_during_another_waits_and_runs_after_it(
    ipb, sent, django_capture_on_commit_callbacks
):
    submit(ipb, 3)
    first = request(ipb)
    held_back = []

    def meanwhile(_progress, note):
        if note == "validity":
            second = request(ipb)
            held_back.append(second.pk)
            assert analysis_run_execute(run_id=second.pk) is None  # not while `first` runs

    with django_capture_on_commit_callbacks(execute=True):
        analysis_run_execute(run_id=first.pk, on_progress=meanwhile)
    assert sent.named("analysis.run") == [held_back]
    assert AnalysisRun.objects.get(pk=held_back[0]).status == Status.QUEUED
    assert analysis_run_execute(run_id=held_back[0]).status == Status.DONE


@pytest.mark.parametrize("triggers", [0, 3])
def test_data_arriving_during_a_run_causes_exactly_one_follow_up_run(
    ipb, sent, django_capture_on_commit_callbacks, triggers
):
    """Whether the new-data triggers get through (3) or were debounced away (0)."""
    submit(ipb, 5)
    first = request(ipb, AnalysisRun.Trigger.NEW_DATA)

    def meanwhile(_progress, note):
        if note == "validity":
            submit(ipb, 3, seed=2)
            for _trigger in range(triggers):
                tasks.new_data(ipb.pk)

    with django_capture_on_commit_callbacks(execute=True):
        analysis_run_execute(run_id=first.pk, on_progress=meanwhile)
    follow_up = AnalysisRun.objects.exclude(pk=first.pk).get(questionnaire=ipb)
    assert (follow_up.status, follow_up.trigger) == (Status.QUEUED, AnalysisRun.Trigger.NEW_DATA)
    with django_capture_on_commit_callbacks(execute=True):
        for run_id in {args[0] for args in sent.named("analysis.run")}:
            analysis_run_execute(run_id=run_id)
    assert AnalysisRun.objects.filter(questionnaire=ipb).count() == 2
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.counts["collected"]) == (Status.DONE, 8)


def test_a_definition_change_during_a_run_causes_one_follow_up_run(
    ipb, eager, django_capture_on_commit_callbacks
):
    submit(ipb, 2)
    first = request(ipb)

    def meanwhile(_progress, note):
        if note == "validity":
            questionnaire_definition_changed(questionnaire=ipb)

    with django_capture_on_commit_callbacks(execute=True):
        analysis_run_execute(run_id=first.pk, on_progress=meanwhile)
    ipb.refresh_from_db()
    follow_up = AnalysisRun.objects.exclude(pk=first.pk).get(questionnaire=ipb)
    assert follow_up.trigger == AnalysisRun.Trigger.DEFINITION_CHANGE
    assert follow_up.status == Status.DONE
    assert follow_up.definition_version == ipb.definition_version


def test_nothing_new_during_a_run_means_no_follow_up(
    ipb, eager, django_capture_on_commit_callbacks
):
    submit(ipb, 2)
    with django_capture_on_commit_callbacks(execute=True):
        analysis_run_execute(run_id=request(ipb).pk)
    assert AnalysisRun.objects.filter(questionnaire=ipb).count() == 1


# --- the reaper --------------------------------------------------------------------------------


def test_the_reaper_requeues_a_run_whose_worker_died_and_fails_it_after_the_last_attempt(
    ipb, sent, settings, chords, django_capture_on_commit_callbacks
):
    submit(ipb, 6)
    settings.ANALYSIS_CHUNK_SIZE = 3
    settings.ANALYSIS_MAX_ATTEMPTS = 2
    run = request(ipb)
    analysis_run_execute(run_id=run.pk)  # the chunks went to workers that then died
    assert analysis_runs_reap() == {"requeued": [], "failed": [], "resent": []}
    with django_capture_on_commit_callbacks(execute=True):
        outcome = analysis_runs_reap(now=later(settings.ANALYSIS_STALE_SECONDS + 1))
    assert outcome["requeued"] == [run.pk]
    assert sent.named("analysis.run") == [[run.pk]]
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress) == (Status.QUEUED, 1, 0)
    assert run.error == "the worker stopped responding during attempt 1"

    analysis_run_execute(run_id=run.pk)  # attempt 2: its workers die too
    outcome = analysis_runs_reap(now=later(settings.ANALYSIS_STALE_SECONDS + 1))
    assert outcome["failed"] == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.attempts) == (Status.FAILED, 2)


def test_chunks_of_an_interrupted_attempt_change_nothing(ipb, sent, settings, chords):
    submit(ipb, 6)
    settings.ANALYSIS_CHUNK_SIZE = 3
    run = request(ipb)
    analysis_run_execute(run_id=run.pk)
    analysis_runs_reap(now=later(settings.ANALYSIS_STALE_SECONDS + 1))
    analysis_run_execute(run_id=run.pk)  # attempt 2 is running now
    (old_header, old_body), (header, body) = chords
    assert analysis_run_chunk(**old_header[0].kwargs) is None
    analysis_run_finish(partials=[None, None], **old_body.kwargs)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.chunks_done) == (Status.RUNNING, 2, 0)
    run_chord_by_hand(header, body)
    run.refresh_from_db()
    assert run.status == Status.DONE


@pytest.mark.django_db(transaction=True)
def test_a_long_step_keeps_the_heartbeat_going_so_the_run_is_not_reaped(ipb, eager, settings):
    settings.ANALYSIS_STALE_SECONDS = 2  # the heartbeat thread beats every second
    submit(ipb, 2)
    run = request(ipb)
    beats = []

    def slow_step(_progress, note):
        if note == "validity":
            before = AnalysisRun.objects.get(pk=run.pk).heartbeat_at
            time.sleep(2.5)  # longer than ANALYSIS_STALE_SECONDS, in one step
            assert analysis_runs_reap()["requeued"] == []
            beats.append((before, AnalysisRun.objects.get(pk=run.pk).heartbeat_at))

    done = analysis_run_execute(run_id=run.pk, on_progress=slow_step)
    ((before, during),) = beats
    assert during > before
    assert (done.status, done.attempts) == (Status.DONE, 1)


def test_the_reaper_sends_again_a_queued_run_whose_task_was_lost(
    ipb, sent, settings, django_capture_on_commit_callbacks
):
    run = request(ipb)  # queued, but its task never reached a worker
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_runs_reap()["resent"] == []
        outcome = analysis_runs_reap(now=later(settings.ANALYSIS_STALE_SECONDS + 1))
    assert outcome["resent"] == [run.pk]
    assert sent.named("analysis.run") == [[run.pk]]


# --- keeping results -----------------------------------------------------------------------------


def test_only_the_newest_runs_keep_their_results(ipb, eager, settings):
    settings.ANALYSIS_KEEP_RESULTS = 2
    done = []
    for seed in range(3):
        submit(ipb, 1, seed=seed)
        done.append(analysis_run_execute(run_id=request(ipb).pk).pk)
    kept = dict(AnalysisRun.objects.values_list("pk", "results__base__valid"))
    assert kept[done[0]] is None
    assert kept[done[1]] is not None and kept[done[2]] is not None
    assert latest_successful_run(ipb).pk == done[2]
