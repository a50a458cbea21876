"""validity_recompute: the current rules applied to everything collected; decisions kept."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from survey.interchange import load_definition
from survey.models import Response
from survey.services.identity import Identity
from survey.services.questionnaires import questionnaire_import
from survey.services.responses import response_submit
from survey.services.review import response_set_status
from survey.services.validity import judging_stamp, validity_recompute
from survey.structure import structure_build
from tests.analysis.generate import generate_responses
from tests.conftest import EXAMPLE_DEFINITION
from tests.survey.answers import complete_answers

START = timezone.now() - timedelta(days=3)


def submit(questionnaire, answers=None, *, who=None, seconds=600.0, at=None) -> Response:
    at = at or START + timedelta(minutes=Response.objects.count())
    return response_submit(
        questionnaire=questionnaire,
        answers=answers or complete_answers(),
        submission_id=uuid.uuid4(),
        channel=Response.Channel.API,
        identity=Identity(kind="device", raw=who or str(uuid.uuid4())),
        started_at=None if seconds is None else at - timedelta(seconds=seconds),
        submitted_at=at,
    ).response


def statuses(*responses: Response) -> list[str]:
    return [Response.objects.get(pk=r.pk).status for r in responses]


def reimport(changes) -> None:
    definition = load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))
    changed = copy.deepcopy(definition)
    changes(changed)
    questionnaire_import(definition=changed, replace=True)


def test_speeders_are_below_the_fraction_of_the_median_of_every_duration(ipb):
    fast, *others = [submit(ipb, seconds=s) for s in (100, 500, 600, 700, 800)]
    untimed = submit(ipb, seconds=None)

    summary = validity_recompute(questionnaire=ipb)

    assert summary["median_duration"] == 600
    assert summary["speeder_threshold"] == pytest.approx(0.33 * 600)
    assert statuses(fast, *others, untimed) == ["invalid"] + ["valid"] * 5
    assert summary["invalid_by_reason"]["speeder"] == 1
    assert (summary["collected"], summary["valid"], summary["invalid"]) == (6, 5, 1)
    assert summary["valid_rate"] == pytest.approx(5 / 6)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(ipb):
    for seconds in (100, 400, 600, 900):
        submit(ipb, seconds=seconds)
    assert validity_recompute(questionnaire=ipb)["median_duration"] == 500


def test_the_database_and_python_give_the_same_median_to_the_last_bit(ipb):
    """Middle values whose mean, written (a + b) / 2, is not the float PostgreSQL's median
    gives: both paths compute a + 0.5 * (b - a)."""
    from survey.services.validity import median_of

    low, high = 19.004016933516166, 53.37964150644636
    assert (low + high) / 2 != low + 0.5 * (high - low)  # a pair where the two differ
    responses = [submit(ipb, seconds=s) for s in (10, 20, 50, 3000)]
    for response, seconds in zip(responses[1:3], (low, high), strict=True):
        Response.objects.filter(pk=response.pk).update(duration_seconds=seconds)
    median = validity_recompute(questionnaire=ipb)["median_duration"]
    assert median == median_of([10, low, high, 3000]) == low + 0.5 * (high - low)


def test_a_duplicate_arriving_before_the_originals_timestamp_becomes_the_original(ipb):
    first_sent = submit(ipb, who="same", at=START + timedelta(hours=5))
    sent_later_but_earlier = submit(ipb, who="same", at=START + timedelta(hours=1))
    assert statuses(first_sent, sent_later_but_earlier) == ["valid", "valid"]  # as submitted

    summary = validity_recompute(questionnaire=ipb)

    first_sent.refresh_from_db()
    assert first_sent.duplicate and first_sent.status == "invalid"
    assert statuses(sent_later_but_earlier) == ["valid"]
    assert summary["invalid_by_reason"]["duplicate"] == 1


def test_equal_timestamps_make_the_lower_id_the_original(ipb):
    at = START + timedelta(hours=2)
    original, repeat = submit(ipb, who="same", at=at), submit(ipb, who="same", at=at)
    validity_recompute(questionnaire=ipb)
    assert statuses(original, repeat) == ["valid", "invalid"]


def test_a_persons_decision_survives_recomputation(ipb):
    reviewer = get_user_model().objects.create_user(username="reviewer", password="x")
    speeder = submit(ipb, seconds=5)
    clean = submit(ipb)
    submit(ipb)
    validity_recompute(questionnaire=ipb)
    response_set_status(response=speeder, status="valid", reason="phoned", user=reviewer)
    response_set_status(response=clean, status="invalid", reason="fake", user=reviewer)

    summary = validity_recompute(questionnaire=ipb)

    assert statuses(speeder, clean) == ["valid", "invalid"]
    assert Response.objects.get(pk=speeder.pk).speeder  # the flag is still recorded
    assert summary["invalid_manual"] == 1
    assert summary["invalid_by_reason"]["speeder"] == 0


def test_rules_changed_after_collection_apply_to_every_response(ipb):
    lined = {key: 1 for key in "abcdefg"}
    straight = submit(ipb, complete_answers(Q7=lined))
    careless = submit(ipb, complete_answers(Q17=1))
    chose_two = submit(ipb, complete_answers(Q17=2))
    assert statuses(straight, careless, chose_two) == ["flagged", "invalid", "valid"]

    def change(definition):
        definition["validity"]["attention"]["action"] = "flag"
        definition["validity"]["straightlining"]["action"] = "invalidate"
        questions = {q["code"]: q for s in definition["sections"] for q in s["questions"]}
        questions["Q17"]["attention_check"]["expect"] = 1
        questions["Q7"]["straightlining_check"] = False

    reimport(change)
    validity_recompute(questionnaire=ipb)

    # Q7 is no longer checked for straight-lining; Q17 now expects option 1 (and only flags).
    assert statuses(straight, careless, chose_two) == ["flagged", "valid", "flagged"]
    straight.refresh_from_db()
    assert straight.reasons == ["attention"]


def test_removing_a_rule_clears_its_flags_and_its_effect(ipb):
    fast = submit(ipb, seconds=5)
    for _ in range(3):
        submit(ipb)
    validity_recompute(questionnaire=ipb)
    assert statuses(fast) == ["invalid"]

    reimport(lambda definition: definition["validity"].pop("speeder"))
    summary = validity_recompute(questionnaire=ipb)

    fast.refresh_from_db()
    assert (fast.status, fast.speeder) == ("valid", False)
    assert summary["speeder_threshold"] is None


def test_an_attention_check_hidden_by_show_if_is_not_failed(ipb):
    def hide(definition):
        question = next(
            q for s in definition["sections"] for q in s["questions"] if q["code"] == "Q17"
        )
        question["show_if"] = "D1 == 2"

    reimport(hide)
    hidden = submit(ipb, {k: v for k, v in complete_answers(D1=1).items() if k != "Q17"})
    shown_wrong = submit(ipb, complete_answers(D1=2, Q17=3))
    validity_recompute(questionnaire=ipb)
    assert statuses(hidden, shown_wrong) == ["valid", "invalid"]


def test_every_response_is_no_longer_provisional(ipb):
    submit(ipb)
    assert Response.objects.filter(status_provisional=True).count() == 1
    validity_recompute(questionnaire=ipb)
    assert Response.objects.filter(status_provisional=True).count() == 0


def test_nothing_collected_gives_zeros_and_no_rate(ipb):
    summary = validity_recompute(questionnaire=ipb)
    assert (summary["collected"], summary["valid"], summary["valid_rate"]) == (0, 0, None)
    assert summary["median_duration"] is None and summary["speeder_threshold"] is None


def test_recomputing_twice_changes_nothing(ipb):
    generate_responses(questionnaire=ipb, count=60, seed=5)
    first = validity_recompute(questionnaire=ipb)
    before = list(Response.objects.order_by("id").values_list("status", "speeder", "duplicate"))
    assert validity_recompute(questionnaire=ipb) == first
    after = list(Response.objects.order_by("id").values_list("status", "speeder", "duplicate"))
    assert after == before


def test_the_number_of_queries_does_not_grow_with_responses(ipb, django_assert_num_queries):
    generate_responses(questionnaire=ipb, count=15, seed=1)
    with CaptureQueriesContext(connection) as few:
        validity_recompute(questionnaire=ipb)
    generate_responses(questionnaire=ipb, count=60, seed=2)
    with django_assert_num_queries(len(few.captured_queries)):
        validity_recompute(questionnaire=ipb)


def judged(*responses: Response) -> list[tuple[bool, bool, int]]:
    rows = Response.objects.in_bulk([r.pk for r in responses])
    return [
        (rows[r.pk].attention_failed, rows[r.pk].straightlined, rows[r.pk].validity_judged)
        for r in responses
    ]


def test_submissions_carry_the_stamp_of_the_rules_that_judged_them(ipb):
    careless = submit(ipb, complete_answers(Q17=1))
    stamp = judging_stamp(structure_build(ipb))
    assert stamp != 0
    assert judged(careless) == [(True, False, stamp)]


def test_a_recompute_judges_again_only_what_the_current_rules_have_not_judged(ipb):
    lined = {key: 1 for key in "abcdefg"}
    current, older, never = (submit(ipb, complete_answers(Q7=lined)) for _ in range(3))
    stamp = judging_stamp(structure_build(ipb))
    # Wrong flags planted on three judgements: by the current rules, by older rules (stored
    # by a request that read the definition before it changed), never (loaded by COPY).
    Response.objects.update(attention_failed=True, straightlined=False)
    Response.objects.filter(pk=older.pk).update(validity_judged=stamp ^ 1)
    Response.objects.filter(pk=never.pk).update(validity_judged=0)

    validity_recompute(questionnaire=ipb)

    # The current rules' judgement is not read again (the planted flags stand); the others
    # are judged from their answers and stamped.
    assert judged(current, older, never) == [
        (True, False, stamp),
        (False, True, stamp),
        (False, True, stamp),
    ]


def test_changing_a_rule_judges_every_response_again_and_a_label_does_not(ipb):
    careless = submit(ipb, complete_answers(Q17=1))
    chose_two = submit(ipb, complete_answers(Q17=2))
    validity_recompute(questionnaire=ipb)
    before = judging_stamp(structure_build(ipb))

    def relabel(definition):
        definition["validity"]["attention"]["action"] = "flag"  # the status, not the flag
        question = next(
            q for s in definition["sections"] for q in s["questions"] if q["code"] == "Q17"
        )
        question["label"] = {"zh-hans": "请选择“较好”", "en": "Choose Good"}

    reimport(relabel)
    assert judging_stamp(structure_build(ipb)) == before
    validity_recompute(questionnaire=ipb)
    assert statuses(careless, chose_two) == ["flagged", "valid"]

    def expect_one(definition):
        relabel(definition)
        question = next(
            q for s in definition["sections"] for q in s["questions"] if q["code"] == "Q17"
        )
        question["attention_check"]["expect"] = 1

    reimport(expect_one)
    after = judging_stamp(structure_build(ipb))
    assert after != before
    validity_recompute(questionnaire=ipb)
    assert judged(careless, chose_two) == [(False, False, after), (True, False, after)]
