"""The two paths of the validity module give the same marks: Python (submit time, and
``validity_marks`` over a list) and SQL (``validity_recompute`` over everything collected)."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from datetime import timedelta

from demo.generate import responses_generate
from survey.interchange import load_definition
from survey.models import Response
from survey.services.identity import Identity
from survey.services.questionnaires import questionnaire_import
from survey.services.responses import response_submit
from survey.services.review import response_set_status
from survey.services.validity import Marks, ResponseFacts, validity_marks, validity_recompute
from survey.structure import structure_build
from tests.conftest import EXAMPLE_DEFINITION

FLAGS = ("speeder", "attention_failed", "straightlined", "duplicate")


def _add_edge_cases(questionnaire, make_user) -> None:
    """What the generator does not make: untimed responses, a repeat respondent whose second
    submission carries the earlier time, and decisions made by a person."""
    stored = list(Response.objects.filter(questionnaire=questionnaire).order_by("id")[:40])
    for number, response in enumerate(stored[:5]):
        response_submit(
            questionnaire=questionnaire,
            answers=response.answers,
            submission_id=uuid.uuid4(),
            channel=Response.Channel.API,
            identity=Identity(kind="device", raw=f"untimed-{number}"),
            started_at=None,
            submitted_at=response.submitted_at,
        )
    later, earlier = stored[5].submitted_at, stored[5].submitted_at - timedelta(hours=2)
    for at in (later, earlier):
        response_submit(
            questionnaire=questionnaire,
            answers=stored[6].answers,
            submission_id=uuid.uuid4(),
            channel=Response.Channel.API,
            identity=Identity(kind="device", raw="early-and-late"),
            started_at=at - timedelta(minutes=9),
            submitted_at=at,
        )
    reviewer = make_user("reviewer", "analyst")
    for response, status in zip(stored[10:16], ["valid", "invalid", "flagged"] * 2, strict=True):
        response_set_status(response=response, status=status, reason="checked", user=reviewer)


def _stored_marks(questionnaire) -> dict[int, Marks]:
    rows = Response.objects.filter(questionnaire=questionnaire).values_list("id", *FLAGS, "status")
    return {row[0]: Marks(*row[1:]) for row in rows}


def _python_marks(questionnaire) -> dict[int, Marks]:
    facts = [
        ResponseFacts(*row)
        for row in Response.objects.filter(questionnaire=questionnaire).values_list(
            "id", "submitted_at", "respondent_id", "duration_seconds", "answers", "manual_status"
        )
    ]
    return validity_marks(structure=structure_build(questionnaire), responses=facts)


def _assert_paths_agree(questionnaire, submitted: dict[int, Marks] | None) -> dict[str, Counter]:
    # The SQL path judges every response, not only those no current judgement covers.
    Response.objects.filter(questionnaire=questionnaire).update(validity_judged=0)
    summary = validity_recompute(questionnaire=questionnaire)
    sql, python = _stored_marks(questionnaire), _python_marks(questionnaire)
    assert sql.keys() == python.keys()
    differing = {pk: (sql[pk], python[pk]) for pk in sql if sql[pk] != python[pk]}
    assert not differing, f"{len(differing)} responses differ, e.g. {list(differing.items())[:3]}"
    # What the submit path decided alone (one response's own rules) stands after the recompute.
    for pk, marks in (submitted or {}).items():
        assert (marks.attention_failed, marks.straightlined) == (
            sql[pk].attention_failed,
            sql[pk].straightlined,
        )
    tally = {
        "status": Counter(m.status for m in sql.values()),
        "flags": Counter(flag for m in sql.values() for flag in FLAGS if getattr(m, flag)),
    }
    assert summary["invalid"] == tally["status"]["invalid"]
    assert summary["flagged"] == tally["status"]["flagged"]
    return tally


def test_ten_thousand_generated_responses_get_the_same_marks_from_python_and_sql(ipb, make_user):
    responses_generate(questionnaire=ipb, count=10_000, seed=31)
    _add_edge_cases(ipb, make_user)
    submitted = _stored_marks(ipb)

    tally = _assert_paths_agree(ipb, submitted)

    # Every rule and every status occurs, so the parity is not vacuous.
    assert set(tally["flags"]) == set(FLAGS)
    assert all(tally["flags"][flag] >= 5 for flag in FLAGS), tally
    assert set(tally["status"]) == {"valid", "invalid", "flagged"}


def test_changed_rules_give_the_same_marks_from_python_and_sql(ipb, make_user):
    responses_generate(questionnaire=ipb, count=1500, seed=32)
    _add_edge_cases(ipb, make_user)
    changed = copy.deepcopy(load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8")))
    changed["validity"] = {
        "speeder": {"action": "flag", "below_fraction_of_median": 0.6},
        "attention": {"action": "flag"},
        "straightlining": {"action": "invalidate", "min_items": 3},
    }
    questionnaire_import(definition=changed, replace=True)

    tally = _assert_paths_agree(ipb, None)

    # No duplicate rule: repeats are still marked, but the status ignores them.
    assert tally["flags"]["duplicate"] > 0 and tally["flags"]["straightlined"] > 0
