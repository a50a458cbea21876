"""The studio's quota page: an admin adds a quota over D1 × D2, sets targets in the grid of
their options (in the draft, through the rulebook), publishes, and watches the cells fill."""

from __future__ import annotations

import uuid

import pytest

from survey.models import QuotaCell
from survey.services.drafts import definition_draft_get, definition_publish
from survey.services.responses import response_submit
from tests.studio.test_builder import admin, client_as  # noqa: F401 (fixture)
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db
QUOTAS = "/studio/ipb-survey/quotas/"


def etag(client) -> str:
    return client.get(QUOTAS).context["state"].etag


def test_an_admin_adds_a_quota_sets_targets_and_watches_it_fill(ipb, admin):  # noqa: F811
    added = admin.post(
        QUOTAS,
        {
            "action": "add",
            "etag": etag(admin),
            "code": "gender_age",
            "label": "性别×年龄",
            "of": ["D1", "D2"],
            "when_full": "end",
        },
    )
    assert added.status_code == 302, added.context and added.context["add"].errors
    page = admin.get(QUOTAS).content.decode()
    assert 'name="target-1|3"' in page and "男 × 31-40岁" in page
    saved = admin.post(
        QUOTAS,
        {
            "action": "save",
            "etag": etag(admin),
            "quota": "gender_age",
            "target-1|3": "2",
            "target-2|3": "1",
            "when_full": "mark",
        },
    )
    assert saved.status_code == 302
    quota = definition_draft_get(questionnaire=ipb).document["quotas"][0]
    assert quota == {
        "code": "gender_age",
        "label": "性别×年龄",
        "of": ["D1", "D2"],
        "when_full": "mark",
        "cells": [
            {"when": {"D1": 1, "D2": 3}, "target": 2},
            {"when": {"D1": 2, "D2": 3}, "target": 1},
        ],
    }
    definition_publish(questionnaire=ipb)
    response_submit(
        questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="web"
    )
    assert QuotaCell.objects.get(key="1|3").filled == 1
    progress = admin.get(QUOTAS)
    (quota,) = progress.context["progress"]
    assert [(c.label, c.filled, c.target) for c in quota.cells] == [
        ("男 × 31-40岁", 1, 2),
        ("女 × 31-40岁", 0, 1),
    ]
    assert "性别×年龄 · 1 / 3" in progress.content.decode()


def test_a_bad_target_or_question_is_refused_and_nothing_saved(ipb, admin):  # noqa: F811
    bad = admin.post(
        QUOTAS,
        {"action": "add", "etag": etag(admin), "code": "q", "of": ["Q8"], "when_full": "end"},
    )
    assert bad.status_code == 400 and "of" in bad.context["add"].errors
    admin.post(
        QUOTAS,
        {"action": "add", "etag": etag(admin), "code": "g", "of": ["D1"], "when_full": "end"},
    )
    zero = admin.post(
        QUOTAS, {"action": "save", "etag": etag(admin), "quota": "g", "target-1": "0"}
    )
    assert zero.status_code == 400
    assert "男" in " ".join(zero.context["problems"])
    assert definition_draft_get(questionnaire=ipb).document["quotas"][0]["cells"] == []


def test_an_analyst_cannot_change_quotas(ipb, make_user):
    analyst = client_as(make_user, "ann", "analyst", grants=(ipb,))
    assert analyst.post(QUOTAS, {"action": "add", "etag": "x", "code": "g"}).status_code == 403
