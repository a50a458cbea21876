"""Respondents' data in the studio: an admin deletes one respondent's responses by the identity
they gave (confirmed, audited without the identity), and sets the identity retention period
in the draft through the rulebook. Analysts may not."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from survey.models import AuditEvent, Response
from survey.services.drafts import definition_publish
from survey.services.forget import identities_expire
from survey.services.identity import Identity
from survey.services.responses import response_submit
from tests.studio.test_builder import admin, client_as  # noqa: F401 (fixture)
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db
PRIVACY = "/studio/ipb-survey/privacy/"


def answered(ipb, identity: Identity) -> Response:
    return response_submit(
        questionnaire=ipb,
        answers=complete_answers(),
        submission_id=uuid.uuid4(),
        channel="wechat",
        identity=identity,
    ).response


def test_an_admin_deletes_one_respondent_s_responses_by_their_openid(ipb, admin):  # noqa: F811
    answered(ipb, Identity("wechat", "o-asked"))
    kept = answered(ipb, Identity("wechat", "o-other"))
    page = admin.post(
        PRIVACY,
        {"action": "forget", "kind": "wechat", "value": "o-asked", "confirm": "on"},
        follow=True,
    )
    assert page.status_code == 200
    assert "1 份答卷已删除" in page.content.decode()
    assert list(Response.objects.values_list("pk", flat=True)) == [kept.pk]
    event = AuditEvent.objects.get(action="respondent_forget")
    assert event.details["rows"] == 1 and "o-asked" not in str(event.details)
    assert "o-asked" not in page.content.decode()  # never echoed back


def test_nothing_is_deleted_without_the_confirmation_or_with_a_wrong_field(ipb, admin):  # noqa: F811
    answered(ipb, Identity("wechat", "o-asked"))
    unconfirmed = admin.post(PRIVACY, {"action": "forget", "kind": "wechat", "value": "o-asked"})
    assert unconfirmed.status_code == 400 and unconfirmed.context["forget"].errors["confirm"]
    no_collector = admin.post(
        PRIVACY, {"action": "forget", "kind": "collector", "value": "k1", "confirm": "on"}
    )
    assert no_collector.status_code == 400 and no_collector.context["forget"].errors["collector"]
    ghost = admin.post(
        PRIVACY,
        {
            "action": "forget",
            "kind": "collector",
            "value": "k1",
            "collector": "ghost",
            "confirm": "on",
        },
    )
    assert "ghost" in str(ghost.context["forget"].errors["collector"])
    assert (
        Response.objects.count() == 1
        and not AuditEvent.objects.filter(action="respondent_forget").exists()
    )


def test_the_retention_period_goes_into_the_draft_and_applies_once_published(ipb, admin):  # noqa: F811
    old = answered(ipb, Identity("wechat", "o-old"))
    Response.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - timedelta(days=40))
    etag = admin.get(PRIVACY).context["state"].etag
    saved = admin.post(PRIVACY, {"action": "retention", "days": "30", "etag": etag}, follow=True)
    assert "发布" in saved.content.decode()
    ipb.refresh_from_db()
    assert ipb.identity_retention_days is None  # a draft until published
    definition_publish(questionnaire=ipb)
    ipb.refresh_from_db()
    assert ipb.identity_retention_days == 30
    identities_expire()
    old.refresh_from_db()
    assert old.respondent_id is None


def test_a_retention_period_out_of_range_is_named(ipb, admin):  # noqa: F811
    etag = admin.get(PRIVACY).context["state"].etag
    answer = admin.post(PRIVACY, {"action": "retention", "days": "0", "etag": etag})
    assert answer.status_code == 400 and answer.context["retention"].errors["days"]


def test_analysts_may_not_open_the_page(ipb, make_user):
    analyst = client_as(make_user, "reader", "analyst", grants=(ipb,))
    assert analyst.get(PRIVACY).status_code == 403
