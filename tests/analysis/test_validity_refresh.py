"""validity_refresh: the recompute skipped when it would change nothing, and only then.

The skip rests on a digest of the rules and of every response column the recompute reads or
writes (PostgreSQL). Each test below changes one thing the recompute depends on, and checks
that the next refresh recomputes and agrees with a recompute from scratch; the last ones show
the skip itself, and what SQLite does without the digest.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from analysis.models import AnalysisRun
from analysis.services.runs import analysis_run_execute, analysis_run_request
from survey.models import Response
from survey.services.review import response_set_status
from survey.services.validity import validity_recompute, validity_refresh
from tests.analysis.test_validity_recompute import START, reimport, submit

on_postgres = pytest.mark.postgres  # the inputs digest is computed by PostgreSQL

FLAGS = ("status", "status_provisional", "speeder", "duplicate", "attention_failed")


def state(questionnaire) -> list[tuple]:
    return list(
        Response.objects.filter(questionnaire=questionnaire).order_by("id").values_list(*FLAGS)
    )


def refreshed_after(questionnaire, change):
    """Refresh, apply ``change``, refresh again with what the first handed on."""
    first = validity_refresh(questionnaire=questionnaire)
    change()
    return validity_refresh(
        questionnaire=questionnaire, last_summary=first.summary, last_inputs=first.inputs
    )


def assert_recomputed_right(questionnaire, refreshed) -> None:
    assert not refreshed.skipped
    judged = state(questionnaire)
    assert validity_recompute(questionnaire=questionnaire) == refreshed.summary
    assert state(questionnaire) == judged  # a recompute from scratch changes nothing more


@pytest.fixture
def collected(ipb):
    responses = [submit(ipb, seconds=s) for s in (100, 500, 600, 700, 800)]
    responses.append(submit(ipb, who="twice", at=START + timedelta(hours=9)))
    return responses


@on_postgres
def test_nothing_changed_skips_and_returns_the_same_summary(ipb, collected):
    first = validity_refresh(questionnaire=ipb)
    judged = state(ipb)
    again = validity_refresh(
        questionnaire=ipb, last_summary=first.summary, last_inputs=first.inputs
    )
    assert again.skipped and not first.skipped
    assert again.summary == first.summary and again.inputs == first.inputs
    assert state(ipb) == judged
    assert again.summary["median_duration"] == 600 and again.summary["invalid"] == 1


@on_postgres
def test_a_new_response_is_judged(ipb, collected):
    refreshed = refreshed_after(ipb, lambda: submit(ipb, who="twice", seconds=50))
    assert_recomputed_right(ipb, refreshed)
    assert refreshed.summary["collected"] == 7
    assert refreshed.summary["invalid_by_reason"]["duplicate"] == 1


@on_postgres
def test_a_deleted_response_is_judged(ipb, collected):
    refreshed = refreshed_after(ipb, lambda: collected[0].delete())  # the speeder
    assert_recomputed_right(ipb, refreshed)
    assert (refreshed.summary["collected"], refreshed.summary["invalid"]) == (5, 0)


@on_postgres
def test_a_persons_decision_is_counted(ipb, collected):
    reviewer = get_user_model().objects.create_user("reviewer")

    def decide():
        response_set_status(response=collected[2], status="invalid", reason="copied", user=reviewer)

    refreshed = refreshed_after(ipb, decide)
    assert_recomputed_right(ipb, refreshed)
    assert refreshed.summary["invalid_manual"] == 1


@on_postgres
def test_a_rule_changed_in_the_definition_is_applied(ipb, collected):
    def stricter():
        def change(definition):
            definition["validity"]["speeder"]["below_fraction_of_median"] = 0.9

        reimport(change)

    refreshed = refreshed_after(ipb, stricter)
    assert_recomputed_right(ipb, refreshed)
    assert refreshed.summary["invalid_by_reason"]["speeder"] == 2  # 100 s and 500 s


@on_postgres
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("speeder", True),
        ("attention_failed", True),
        ("duplicate", True),
        ("straightlined", True),
        ("status", "flagged"),
        ("status_provisional", True),
        ("manual_status", "invalid"),
        ("validity_judged", 0),
        ("duration_seconds", 10.0),
        ("duration_seconds", None),
        ("submitted_at", START + timedelta(days=2)),
        ("respondent", None),
    ],
)
def test_any_column_changed_behind_its_back_is_judged_again(ipb, collected, column, value):
    """Every column the recompute reads or writes is in the digest: a change to any of them,
    made by no service, is seen by the next refresh."""

    def tamper():
        Response.objects.filter(pk=collected[3].pk).update(**{column: value})

    assert_recomputed_right(ipb, refreshed_after(ipb, tamper))


@on_postgres
def test_a_summary_missing_a_key_is_not_trusted(ipb, collected):
    first = validity_refresh(questionnaire=ipb)
    partial = {k: v for k, v in first.summary.items() if k != "median_duration"}
    again = validity_refresh(questionnaire=ipb, last_summary=partial, last_inputs=first.inputs)
    assert not again.skipped and again.summary == first.summary


def test_the_skip_needs_the_digest_postgresql_computes(ipb, collected):
    first = validity_refresh(questionnaire=ipb)
    again = validity_refresh(
        questionnaire=ipb, last_summary=first.summary, last_inputs=first.inputs
    )
    if connection.vendor == "postgresql":
        assert first.inputs and again.skipped
    else:  # SQLite has no hash function in SQL: every refresh recomputes
        assert first.inputs == "" and not again.skipped
    assert again.summary == first.summary


# --- in the analysis runs -------------------------------------------------------------------


def full_run(questionnaire, trigger: str) -> AnalysisRun:
    run = analysis_run_request(questionnaire_id=questionnaire.pk, trigger=trigger, dispatch=False)
    analysis_run_execute(run_id=run.pk)
    return AnalysisRun.objects.get(pk=run.pk)


@on_postgres
def test_a_full_run_after_a_definition_change_reuses_the_judgement_a_person_asks_again(
    ipb, collected, caplog
):
    first = full_run(ipb, "definition_change")
    assert first.validity_inputs and "validity unchanged" not in caplog.text

    second = full_run(ipb, "definition_change")
    assert "validity unchanged since the last full run" in caplog.text
    assert second.counts == first.counts and second.validity_inputs == first.validity_inputs
    assert second.results["validity"] == first.results["validity"]

    caplog.clear()
    asked = full_run(ipb, "manual")
    assert "validity unchanged" not in caplog.text
    assert asked.counts == first.counts


@on_postgres
def test_a_response_deleted_during_the_recompute_leaves_no_inputs_to_trust(
    ipb, collected, monkeypatch
):
    from survey.services import validity

    judge = validity._judge

    def then_delete(responses, structure, threshold):
        judge(responses, structure, threshold)
        Response.objects.filter(pk=collected[0].pk).delete()  # in the median, gone from the count

    monkeypatch.setattr(validity, "_judge", then_delete)
    first = validity_refresh(questionnaire=ipb)
    # The summary and the digest agree, but the median was taken with one response more.
    assert first.summary["collected"] == len(collected) - 1
    assert first.inputs == ""
    monkeypatch.undo()
    again = validity_refresh(
        questionnaire=ipb, last_summary=first.summary, last_inputs=first.inputs
    )
    assert_recomputed_right(ipb, again)


@on_postgres
def test_the_digest_is_read_first_only_when_it_could_match(ipb, collected, monkeypatch):
    from survey.services import validity

    reads = []
    read = validity._response_inputs
    monkeypatch.setattr(validity, "_response_inputs", lambda pk: reads.append(pk) or read(pk))
    first = validity_refresh(questionnaire=ipb)  # nothing to match: a person's request
    # Not read alone: after the recompute it comes with the summary's counts.
    assert reads == [] and first.inputs
    validity_refresh(questionnaire=ipb, last_summary=first.summary, last_inputs=first.inputs)
    assert len(reads) == 1  # before, and it matched: skipped
    changed = validity_refresh(
        questionnaire=ipb, last_summary=first.summary, last_inputs="other-rules:" + first.inputs
    )
    assert len(reads) == 1 and not changed.skipped  # rules changed: not read before
