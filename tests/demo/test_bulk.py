"""demo.bulk: the benchmarks' COPY loader stores the demo generator's responses as the submit
path would, and the analysis finds exactly the planned valid ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

from demo.bulk import responses_bulk_load
from demo.draws import VALID
from demo.generate import responses_plan, segment_rules
from survey.models import Answer, Respondent, Response
from survey.services.responses import answer_rows
from survey.services.validity import (
    judging_stamp,
    single_response_reasons,
    status_for,
    validity_recompute,
)
from survey.structure import structure_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

END = datetime(2026, 5, 31, 20, 0, tzinfo=UTC)


def _dsn() -> str:
    config = connection.settings_dict
    return make_conninfo(
        dbname=config["NAME"],
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=str(config["PORT"]) if config["PORT"] else None,
    )


def _plain(rows) -> list[tuple]:
    return sorted((q, i, o, None if n is None else float(n), t) for q, i, o, n, t in rows)


def test_bulk_loaded_responses_are_the_planned_ones_stored_as_the_submit_path_stores_them(ipb):
    result = responses_bulk_load(dsn=_dsn(), questionnaire=ipb, count=400, seed=3, period_end=END)

    structure = structure_for(ipb)
    rules = segment_rules(questionnaire=ipb, structure=structure)
    plan, _notes = responses_plan(
        structure=structure, rules=rules, count=400, seed=3 * 1_000_003, period_end=END
    )
    stored = {r.submission_id: r for r in Response.objects.filter(questionnaire=ipb)}
    assert result.responses == len(stored) == 400
    assert {p.submission_id for p in plan} == set(stored)
    assert Respondent.objects.count() == result.respondents < 400  # repeats share one
    for planned in plan[::37]:
        response = stored[planned.submission_id]
        rows = Answer.objects.filter(response=response).values_list(
            "question_id", "item_id", "option_id", "number", "text"
        )
        assert _plain(rows) == _plain(answer_rows(structure, response.answers))
    assert Answer.objects.filter(response__questionnaire=ipb).count() == result.answers
    # Judged as the submit path judges: the rules reading one response's answers alone.
    for response in stored.values():
        reasons = single_response_reasons(structure, response.answers)
        assert (
            response.attention_failed,
            response.straightlined,
            response.status,
            response.validity_judged,
        ) == (
            "attention" in reasons,
            "straightlining" in reasons,
            status_for(structure.validity, reasons),
            judging_stamp(structure),
        )
    assert any(r.attention_failed for r in stored.values())

    summary = validity_recompute(questionnaire=ipb)
    assert summary["valid"] == result.kinds[VALID]
    assert summary["invalid"] == 400 - result.kinds[VALID]


def test_more_than_one_batch_continues_the_ids_and_respondents(ipb, monkeypatch):
    monkeypatch.setattr("demo.bulk.BATCH_SIZE", 150)
    first = responses_bulk_load(dsn=_dsn(), questionnaire=ipb, count=320, seed=5, period_end=END)

    ids = list(Response.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) == 320 and ids == list(range(ids[0], ids[0] + 320))
    assert Respondent.objects.count() == first.respondents
    # The sequences were moved past the copied ids: the submit path can go on.
    later = Response.objects.create(
        questionnaire=ipb, submission_id=uuid.uuid4(), answers_digest="", definition_version=1
    )
    assert later.pk > ids[-1]
