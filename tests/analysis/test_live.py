"""Live results: new data recomputes only the chunks it changed, and the merged results equal
those of every chunk computed afresh, after any sequence of submissions, status decisions and
deletions (a property test)."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import User
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from analysis.models import AnalysisRun, ResultsChunk
from analysis.services import live
from analysis.services.aggregate import merge_partials
from analysis.services.runs import analysis_run_execute, analysis_run_request
from analysis.services.tables import tables_build
from survey.models import Response, ResponseChange
from survey.services.forget import respondent_forget
from survey.services.identity import Identity
from survey.services.review import response_set_status
from survey.services.validity import validity_counts, validity_summary_of
from tests.analysis import jobs
from tests.exports.support import submit

eager = jobs.eager  # fixture

pytestmark = pytest.mark.django_db

Trigger = AnalysisRun.Trigger
_names = itertools.count()


def run(questionnaire, trigger=Trigger.NEW_DATA) -> AnalysisRun:
    requested = analysis_run_request(
        questionnaire_id=questionnaire.pk, trigger=trigger, dispatch=False
    )
    done = analysis_run_execute(run_id=requested.pk)
    done.refresh_from_db()
    assert done.status == AnalysisRun.Status.DONE, done.error
    return done


def afresh(questionnaire, counts) -> dict:
    """The results of every chunk computed now from the stored responses (no stored chunk)."""
    merged = merge_partials(
        [
            live.chunk_partial(questionnaire_id=questionnaire.pk, low_id=low, high_id=high)
            for low, high in live.chunk_ranges(questionnaire_id=questionnaire.pk)
        ]
    )
    return tables_build(questionnaire_id=questionnaire.pk, merged=merged, validity=counts)


def variant(index: int) -> dict:
    """Answers that move different cells of the tables (index 3: fails the attention check)."""
    from tests.survey.answers import complete_answers

    return [
        complete_answers(),
        complete_answers(D1=2, Q5={"a": 1, "b": 2, "c": 2, "d": 1, "e": 4}),
        complete_answers(D2=1, Q9=[2, 3], Q12=[2]),
        complete_answers(Q17=4),
    ][index]


def respond(questionnaire, index: int) -> Response:
    """One submission by a new respondent (``response.person``: the identity's name)."""
    person = f"person-{next(_names)}"
    response = submit(questionnaire, variant(index), identity=person)
    response.person = person
    return response


def test_new_data_recomputes_only_its_chunk_and_equals_a_full_run(ipb, eager, settings):
    settings.ANALYSIS_CHUNK_SIZE = 4
    for index in range(10):
        respond(ipb, index % 3)
    full = run(ipb, Trigger.MANUAL)
    assert not full.incremental
    assert ResultsChunk.objects.filter(questionnaire=ipb).count() == len(
        live.chunk_ranges(questionnaire_id=ipb.pk)
    )
    assert not ResponseChange.objects.exists()  # the full run read everything

    computed = []
    original = live.aggregate_chunk

    def counting(**kwargs):
        computed.append((kwargs["low_id"], kwargs["high_id"]))
        return original(**kwargs)

    settings_patch = pytest.MonkeyPatch()
    settings_patch.setattr(live, "aggregate_chunk", counting)
    try:
        new = respond(ipb, 1)
        refreshed = run(ipb)
    finally:
        settings_patch.undo()
    assert refreshed.incremental
    assert computed == [live.chunk_range(new.pk // 4)]  # one chunk, the new response's
    assert refreshed.counts["collected"] == 11 and refreshed.counts["valid"] == 11
    assert refreshed.results["validity"] == refreshed.counts
    again = run(ipb, Trigger.MANUAL)  # a full run: the same figures
    assert refreshed.results == again.results


def test_a_changed_definition_or_chunk_size_means_a_full_run(ipb, eager, settings):
    settings.ANALYSIS_CHUNK_SIZE = 4
    for index in range(5):
        respond(ipb, index % 3)
    run(ipb, Trigger.MANUAL)
    settings.ANALYSIS_CHUNK_SIZE = 5
    respond(ipb, 0)
    assert not run(ipb).incremental  # stored chunks of another size: recomputed in full
    respond(ipb, 0)
    assert run(ipb).incremental
    settings.ANALYSIS_FULL_EVERY_SECONDS = 0
    respond(ipb, 0)
    assert not run(ipb).incremental  # the last full run is too old: validity re-judged


def test_a_missed_change_is_caught_by_the_count_and_a_full_run_follows(ipb, eager, settings):
    settings.ANALYSIS_CHUNK_SIZE = 4
    responses = [respond(ipb, 0) for _ in range(6)]
    run(ipb, Trigger.MANUAL)
    # A change no service recorded (a deletion by hand): the valid count disagrees.
    Response.objects.filter(pk=responses[0].pk).delete()
    respond(ipb, 0)
    refreshed = run(ipb)
    assert not refreshed.incremental
    assert refreshed.results["validity"]["valid"] == 6


def test_weighted_questionnaires_always_run_in_full(ipb, eager, settings):
    settings.ANALYSIS_CHUNK_SIZE = 4
    ipb.__class__.objects.filter(pk=ipb.pk).update(
        weights={"margins": {"D1": {"1": 0.5, "2": 0.5}}}
    )
    for index in range(4):
        respond(ipb, index % 2)
    run(ipb, Trigger.MANUAL)
    respond(ipb, 1)
    assert not run(ipb).incremental  # a new response moves every weight


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 3)),
        st.tuples(st.just("status"), st.integers(0, 50), st.sampled_from(list(Response.Status))),
        st.tuples(st.just("forget"), st.integers(0, 50)),
        st.tuples(st.just("refresh")),
    ),
    max_size=14,
)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_incremental_results_equal_every_chunk_computed_afresh(ipb, eager, settings, operations):
    settings.ANALYSIS_CHUNK_SIZE = 3
    Response.objects.filter(questionnaire=ipb).delete()
    AnalysisRun.objects.filter(questionnaire=ipb).delete()
    ResponseChange.objects.all().delete()
    ResultsChunk.objects.all().delete()
    analyst, _ = User.objects.get_or_create(username="live-analyst")
    people = [respond(ipb, index) for index in (0, 1, 2, 3)]
    run(ipb, Trigger.MANUAL)
    for operation in operations:
        kind = operation[0]
        if kind == "submit":
            people.append(respond(ipb, operation[1]))
        elif kind == "status" and people:
            chosen = people[operation[1] % len(people)]
            if Response.objects.filter(pk=chosen.pk).exists():
                response_set_status(
                    response=chosen, status=operation[2], reason="checked", user=analyst
                )
        elif kind == "forget" and people:
            chosen = people.pop(operation[1] % len(people))
            identity = Identity("collector", chosen.person)
            respondent_forget(questionnaire=ipb, identity=identity, user=analyst)
        elif kind == "refresh":
            assert run(ipb).incremental  # never a fall-back to a full run: nothing was missed
    latest = run(ipb)
    assert latest.incremental
    assert latest.results == afresh(ipb, latest.counts)
    now = validity_summary_of(validity_counts(Response.objects.filter(questionnaire=ipb)))
    assert {key: latest.counts[key] for key in now} == now  # statuses and reasons too
    assert latest.counts["collected"] == Response.objects.filter(questionnaire=ipb).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_submission_committed_during_a_refresh_is_taken_by_the_next(ipb, eager, settings):
    """The refresh reads one snapshot: a response committed by another connection while it
    works neither makes it fall back to a full run nor is lost."""
    import threading

    from django.db import connection

    settings.ANALYSIS_CHUNK_SIZE = 4
    for index in range(6):
        respond(ipb, index % 3)
    run(ipb, Trigger.MANUAL)
    original = live.chunk_partial
    meanwhile: list[Response] = []

    def while_computing(**kwargs):
        if not meanwhile:

            def elsewhere():
                try:
                    meanwhile.append(respond(ipb, 2))
                finally:
                    connection.close()

            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
        return original(**kwargs)

    respond(ipb, 1)
    patch = pytest.MonkeyPatch()
    patch.setattr(live, "chunk_partial", while_computing)
    try:
        during = run(ipb)
    finally:
        patch.undo()
    assert meanwhile and during.incremental  # no fall-back to a full run
    assert during.counts["collected"] == 7  # the snapshot before the other commit
    after = run(ipb)
    assert after.incremental and after.counts["collected"] == 8
    assert after.results == afresh(ipb, after.counts)
