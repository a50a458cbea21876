"""Quotas: the rulebook's refusals, storage and export, counting at submit (valid responses
only, a full cell marks the response over quota and counts it nowhere), the form's "your group
is full" page, recounts when validity changes, and the last place raced for on PostgreSQL."""

from __future__ import annotations

import copy
import threading
import uuid

import pytest
from django.db import connection
from django.utils.translation import override

from survey.interchange import validate_definition
from survey.models import Quota, QuotaCell, Response
from survey.services.questionnaires import (
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
)
from survey.services.quotas import quota_progress
from survey.services.responses import response_submit
from survey.services.review import response_set_status
from tests.survey.answers import complete_answers
from tests.survey.form.helpers import open_form, post_data

GENDER_AGE = {
    "code": "gender_age",
    "label": {"zh-hans": "性别 × 年龄", "en": "Gender × age"},
    "of": ["D1", "D2"],
    "cells": [
        {"when": {"D1": 1, "D2": 3}, "target": 2},
        {"when": {"D1": 2, "D2": 3}, "target": 1},
    ],
}


def with_quotas(definition: dict, *quotas: dict) -> dict:
    changed = copy.deepcopy(definition)
    changed["quotas"] = list(quotas) or [copy.deepcopy(GENDER_AGE)]
    return changed


@pytest.fixture
def quota_ipb(db, reference_definition):
    questionnaire = questionnaire_import(definition=with_quotas(reference_definition))
    return questionnaire_publish(questionnaire=questionnaire)


def submit(questionnaire, **answers):
    return response_submit(
        questionnaire=questionnaire,
        answers=complete_answers(**answers),
        submission_id=uuid.uuid4(),
        channel="web",
    )


def cells(questionnaire) -> dict[str, tuple[int, int]]:
    return {
        c.key: (c.filled, c.target)
        for c in QuotaCell.objects.filter(quota__questionnaire=questionnaire)
    }


# --- the rulebook -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"of": ["Q99"]}, "quotas[0] (gender_age).of[0]: unknown question 'Q99'"),
        (
            {"of": ["Q8"]},
            "quotas[0] (gender_age).of[0]: Q8 is a multiple question; a quota is "
            "over single-choice questions",
        ),
        ({"of": ["D1", "D1"]}, "quotas[0] (gender_age).of[1]: D1 is named twice"),
        ({"when_full": "stop"}, "quotas[0] (gender_age).when_full: 'stop' is not end or mark"),
        (
            {"cells": [{"when": {"D1": 1, "D2": 9}, "target": 5}]},
            "quotas[0] (gender_age).cells[0].when.D2: D2 has no option 9",
        ),
        (
            {"cells": [{"when": {"D1": 1}, "target": 5}]},
            "quotas[0] (gender_age).cells[0].when: must name an option of each of D1, D2",
        ),
        (
            {"cells": [{"when": {"D1": 1, "D2": 1}, "target": 0}]},
            "quotas[0] (gender_age).cells[0].target: must be a whole number from 1 to 10,000,000",
        ),
        (
            {
                "cells": [
                    {"when": {"D1": 1, "D2": 1}, "target": 5},
                    {"when": {"D1": "1", "D2": 1}, "target": 6},
                ]
            },
            "quotas[0] (gender_age).cells[1].when: the same cell as quotas[0] (gender_age)."
            "cells[0]",
        ),
        ({"cells": {}}, "quotas[0] (gender_age).cells: must be a list, not"),
        ({"limit": 3}, "quotas[0]: unknown key 'limit'"),
    ],
)
def test_the_rulebook_refuses_a_quota_naming_the_place(reference_definition, change, expected):
    quota = {**copy.deepcopy(GENDER_AGE), **change}
    with override("en"):
        found = [
            p
            for p in validate_definition(with_quotas(reference_definition, quota))
            if p.startswith("quotas")
        ]
    assert len(found) == 1 and found[0].startswith(expected), found


def test_refusals_are_in_chinese_too(reference_definition):
    quota = {**copy.deepcopy(GENDER_AGE), "of": ["Q8"]}
    with override("zh-hans"):
        (found,) = validate_definition(with_quotas(reference_definition, quota))
    assert "配额" in found and "单选" in found, found


def test_quotas_are_stored_and_exported_as_written(quota_ipb, reference_definition):
    assert questionnaire_export(questionnaire=quota_ipb)["quotas"] == [GENDER_AGE]
    assert cells(quota_ipb) == {"1|3": (0, 2), "2|3": (0, 1)}


# --- counting ---------------------------------------------------------------------------------


def test_a_full_cell_marks_the_response_over_quota_and_keeps_it(quota_ipb):
    first, second, third = (submit(quota_ipb) for _ in range(3))
    assert [r.response.over_quota for r in (first, second, third)] == [False, False, True]
    assert third.quota.full == ("gender_age",) and third.quota_ends
    assert Response.objects.count() == 3  # kept, marked
    assert cells(quota_ipb)["1|3"] == (2, 2)
    outside = submit(quota_ipb, D2=2)  # in no cell: no limit
    assert not outside.response.over_quota


def test_mark_takes_the_response_in_without_ending(db, reference_definition):
    quota = {**copy.deepcopy(GENDER_AGE), "when_full": "mark"}
    questionnaire = questionnaire_publish(
        questionnaire=questionnaire_import(definition=with_quotas(reference_definition, quota))
    )
    submit(questionnaire), submit(questionnaire)
    third = submit(questionnaire)
    assert third.response.over_quota and not third.quota_ends


def test_an_invalid_response_is_not_counted(db, reference_definition):
    definition = with_quotas(reference_definition)
    definition["validity"]["attention"] = {"action": "invalidate"}
    questionnaire = questionnaire_publish(questionnaire=questionnaire_import(definition=definition))
    failed = submit(questionnaire, Q17=1)  # the attention check expects 2
    assert failed.response.status == "invalid" and not failed.response.over_quota
    assert cells(questionnaire)["1|3"] == (0, 2)


def test_over_quota_in_one_quota_counts_in_none(db, reference_definition):
    gender = {"code": "gender", "of": ["D1"], "cells": [{"when": {"D1": 1}, "target": 5}]}
    small = {**copy.deepcopy(GENDER_AGE), "cells": [{"when": {"D1": 1, "D2": 3}, "target": 1}]}
    questionnaire = questionnaire_publish(
        questionnaire=questionnaire_import(
            definition=with_quotas(reference_definition, gender, small)
        )
    )
    submit(questionnaire)
    over = submit(questionnaire)
    assert over.response.over_quota and over.quota.full == ("gender_age",)
    assert cells(questionnaire) == {"1": (1, 5), "1|3": (1, 1)}


def test_a_review_that_invalidates_a_counted_response_gives_its_place_back(quota_ipb, make_user):
    counted = submit(quota_ipb).response
    submit(quota_ipb)
    assert cells(quota_ipb)["1|3"] == (2, 2)
    response_set_status(
        response=counted, status="invalid", reason="test answers", user=make_user("rev", "admin")
    )
    assert cells(quota_ipb)["1|3"] == (1, 2)
    assert not submit(quota_ipb).response.over_quota


def test_raising_a_target_and_adding_a_cell_keep_and_make_counts(quota_ipb):
    submit(quota_ipb), submit(quota_ipb), submit(quota_ipb, D1=2)
    definition = questionnaire_export(questionnaire=quota_ipb)
    definition["quotas"][0]["cells"][0]["target"] = 3
    definition["quotas"][0]["cells"].append({"when": {"D1": 1, "D2": 2}, "target": 4})
    questionnaire_import(definition=definition, replace=True)
    assert cells(quota_ipb) == {"1|3": (2, 3), "2|3": (1, 1), "1|2": (0, 4)}
    assert not submit(quota_ipb).response.over_quota
    assert Quota.objects.get().position == 0


def test_progress_names_cells_by_their_options(quota_ipb):
    submit(quota_ipb)
    with override("zh-hans"):
        (progress,) = quota_progress(questionnaire=quota_ipb)
    assert progress.label == "性别 × 年龄"
    assert [(c.label, c.filled, c.target) for c in progress.cells] == [
        ("男 × 31-40岁", 1, 2),
        ("女 × 31-40岁", 0, 1),
    ]
    assert (progress.filled, progress.target) == (1, 3)


def test_the_form_tells_a_respondent_of_a_full_group(client, quota_ipb):
    submit(quota_ipb), submit(quota_ipb)
    _page, fields = open_form(client, "/s/ipb-survey/")
    sent = client.post("/s/ipb-survey/", post_data(complete_answers(), fields))
    assert sent.status_code == 303 and sent["Location"].endswith("/thanks/?quota=full")
    page = client.get(sent["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "与您情况相同" in page
    assert Response.objects.filter(over_quota=True).count() == 1


def test_the_api_says_a_submission_was_over_quota(quota_ipb, make_user, client_for):
    submit(quota_ipb), submit(quota_ipb)
    collector = client_for(make_user("col", "collector", grants=(quota_ipb,)))
    sent = collector.post(
        "/api/v1/questionnaires/ipb-survey/submissions/",
        {"submission_id": str(uuid.uuid4()), "answers": complete_answers()},
        format="json",
    )
    assert sent.status_code == 201 and sent.json()["over_quota"] is True


# --- the race ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submissions_racing_for_the_last_place_count_exactly_one(reference_definition):
    quota = {**copy.deepcopy(GENDER_AGE), "cells": [{"when": {"D1": 1, "D2": 3}, "target": 1}]}
    questionnaire = questionnaire_publish(
        questionnaire=questionnaire_import(definition=with_quotas(reference_definition, quota))
    )
    for _round in range(5):
        QuotaCell.objects.update(filled=0)
        barrier = threading.Barrier(4)
        outcomes: list[bool] = []

        def send(barrier=barrier, outcomes=outcomes) -> None:
            try:
                barrier.wait()
                outcomes.append(submit(questionnaire).response.over_quota)
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == [False, True, True, True]
        assert cells(questionnaire) == {"1|3": (1, 1)}


def test_the_wide_export_says_which_responses_were_over_quota(quota_ipb, make_user):
    import io

    import pandas as pd

    from tests.exports.test_formats import stream

    submit(quota_ipb), submit(quota_ipb), submit(quota_ipb)
    frame = pd.read_csv(
        io.BytesIO(stream(quota_ipb, make_user("ana", "admin"), values="codes")),
        encoding="utf-8-sig",
    )
    assert "weight" not in frame.columns
    assert list(frame.sort_values("response_id")["over_quota"]) == [0, 0, 1]


def test_the_form_tells_its_script_which_cells_are_full_only_when_some_are(client, quota_ipb):
    import json
    import re

    def config() -> dict:
        html = client.get("/s/ipb-survey/").content.decode()
        found = re.search(r'<script id="wf-config" type="application/json">(.*?)</script>', html)
        return json.loads(found.group(1))

    assert "quotaFull" not in config()
    submit(quota_ipb), submit(quota_ipb)
    assert config()["quotaFull"] == [{"D1": "1", "D2": "3"}]
    assert config()["quotaFullUrl"] == "/s/ipb-survey/thanks/?quota=full"
