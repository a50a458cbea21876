import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from survey.models import Response
from survey.services.responses import response_submit
from survey.services.review import response_set_status
from tests.survey.answers import complete_answers
from tests.survey.api.helpers import assert_error, response_url, responses_url

pytestmark = pytest.mark.django_db

LIST_KEYS = {
    "id",
    "submission_id",
    "status",
    "reasons",
    "manual_status",
    "status_provisional",
    "over_quota",
    "channel",
    "started_at",
    "submitted_at",
    "duration_seconds",
    "answers",
}


def submit_at(questionnaire, submitted_at, **overrides):
    return response_submit(
        questionnaire=questionnaire,
        answers=complete_answers(**overrides),
        submission_id=uuid.uuid4(),
        channel="api",
        submitted_at=submitted_at,
        ip_address="10.0.0.1",
    ).response


def test_an_analyst_lists_the_responses_newest_first(analyst_client, stored_response):
    older, newer = stored_response(), stored_response(Q17=1)
    response = analyst_client.get(responses_url())
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    row = body["results"][0]
    assert set(row) == LIST_KEYS
    assert row["status"] == "invalid"
    assert row["reasons"] == ["attention"]
    assert row["manual_status"] is None
    assert row["answers"]["Q17"] == 1


def test_the_list_never_exposes_identity_or_ip_hashes(analyst_client, ipb):
    stored = submit_at(ipb, timezone.now())
    text = analyst_client.get(responses_url()).content.decode()
    assert stored.ip_hash and stored.ip_hash not in text
    assert "ip_hash" not in text
    assert "respondent" not in text


def test_the_list_filters_by_status(analyst_client, stored_response):
    stored_response()
    flagged = stored_response(Q5={item: 2 for item in "abcde"})
    body = analyst_client.get(responses_url(), {"status": "flagged"}).json()
    assert [row["id"] for row in body["results"]] == [flagged.pk]


def test_the_list_filters_by_dates_including_the_days_named(analyst_client, ipb):
    shanghai = ZoneInfo("Asia/Shanghai")
    may_1 = timezone.datetime(2025, 5, 1, 0, 30, tzinfo=shanghai)
    may_31 = timezone.datetime(2025, 5, 31, 23, 30, tzinfo=shanghai)
    june_1 = timezone.datetime(2025, 6, 1, 0, 30, tzinfo=shanghai)
    april = submit_at(ipb, may_1 - timedelta(hours=1))
    in_may = [submit_at(ipb, may_1), submit_at(ipb, may_31)]
    submit_at(ipb, june_1)
    body = analyst_client.get(
        responses_url(), {"submitted_after": "2025-05-01", "submitted_before": "2025-05-31"}
    ).json()
    assert sorted(row["id"] for row in body["results"]) == sorted(r.pk for r in in_may)
    body = analyst_client.get(
        responses_url(), {"submitted_before": "2025-05-01T00:30:00+08:00"}
    ).json()
    assert [row["id"] for row in body["results"]] == [april.pk]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("status", "nope"),
        ("submitted_after", "yesterday"),
        ("submitted_after", "2025-02-30"),
        ("submitted_before", "2025-13-01T00:00:00"),
        ("submitted_after", ""),
        ("status", ""),
        ("page", "0"),
        ("page", "two"),
        ("page", ""),
        ("page", "9" * 5000),
        ("page_size", "-1"),
        ("page_size", "lots"),
        ("page_size", "501"),
    ],
)
def test_bad_filter_values_are_400_naming_the_parameter(analyst_client, ipb, parameter, value):
    error = assert_error(analyst_client.get(responses_url(), {parameter: value}), 400, "invalid")
    assert parameter in error["fields"]


@pytest.mark.parametrize(
    ("parameter", "value", "count"),
    [
        ("submitted_before", "9999-12-31", 1),
        ("submitted_after", "0001-01-01", 1),
        ("submitted_before", "0001-01-01", 0),
        ("submitted_after", "9999-12-31T23:59:59Z", 0),
    ],
)
def test_any_date_the_schema_allows_is_a_filter(analyst_client, ipb, parameter, value, count):
    """Bounds before 2000 or past 9998 select what those years would (nothing is stored
    outside them), so every date the OpenAPI schema allows is accepted."""
    submit_at(ipb, timezone.now())
    answer = analyst_client.get(responses_url(), {parameter: value})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["count"] == count


def test_the_list_pages(analyst_client, ipb):
    for _ in range(3):
        submit_at(ipb, timezone.now())
    body = analyst_client.get(responses_url(), {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    assert_error(analyst_client.get(responses_url(), {"page": 99}), 404, "not_found")


def test_listing_30_responses_takes_a_bounded_number_of_queries(
    analyst_client, ipb, django_assert_max_num_queries
):
    for _ in range(30):
        submit_at(ipb, timezone.now())
    with django_assert_max_num_queries(6):
        body = analyst_client.get(responses_url()).json()
    assert body["count"] == 30
    assert len(body["results"]) == 30


def test_the_detail_has_the_status_history_newest_first(analyst_client, analyst, stored_response):
    response = stored_response(Q5={item: 2 for item in "abcde"})
    response_set_status(response=response, status="valid", reason="checked by phone", user=analyst)
    response_set_status(response=response, status="invalid", reason="on second look", user=analyst)
    body = analyst_client.get(response_url(response.pk)).json()
    assert set(body) == LIST_KEYS | {"status_changes"}
    assert body["status"] == "invalid"
    assert body["manual_status"] == "invalid"
    assert [(c["from_status"], c["to_status"]) for c in body["status_changes"]] == [
        ("valid", "invalid"),
        ("flagged", "valid"),
    ]
    assert body["status_changes"][0]["changed_by"] == "analyst"
    assert body["status_changes"][1]["reason"] == "checked by phone"


def test_the_detail_takes_a_bounded_number_of_queries(
    analyst_client, analyst, stored_response, django_assert_max_num_queries
):
    response = stored_response()
    for n in range(5):
        response_set_status(response=response, status="flagged", reason=f"look {n}", user=analyst)
    with django_assert_max_num_queries(6):
        assert analyst_client.get(response_url(response.pk)).status_code == 200


def test_a_response_of_another_questionnaire_is_404(
    client_for, make_user, ipb, other_questionnaire
):
    analyst = make_user("both", "analyst", grants=(ipb, other_questionnaire))
    other = submit_at(other_questionnaire, timezone.now())
    response = client_for(analyst).get(response_url(other.pk))
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("response_id", [0, 987654, 2**63, 10**30])
def test_unknown_response_ids_are_404(analyst_client, ipb, response_id):
    assert_error(analyst_client.get(response_url(response_id)), 404, "not_found")


# --- who may read --------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["list", "detail"])
def test_anonymous_readers_are_401(client_for, stored_response, url):
    target = responses_url() if url == "list" else response_url(stored_response().pk)
    assert_error(client_for(None).get(target), 401, "not_authenticated")


@pytest.mark.parametrize("url", ["list", "detail"])
def test_collectors_may_not_read_responses(collector_client, stored_response, url):
    target = responses_url() if url == "list" else response_url(stored_response().pk)
    assert_error(collector_client.get(target), 403, "permission_denied")


@pytest.mark.parametrize("url", ["list", "detail"])
def test_an_analyst_of_another_questionnaire_gets_404(
    client_for, other_analyst, stored_response, url
):
    target = responses_url() if url == "list" else response_url(stored_response().pk)
    assert_error(client_for(other_analyst).get(target), 404, "not_found")


@pytest.mark.parametrize("url", ["list", "detail"])
def test_an_admin_reads_without_a_grant(client_for, admin_user, stored_response, url):
    target = responses_url() if url == "list" else response_url(stored_response().pk)
    assert client_for(admin_user).get(target).status_code == 200


def test_an_unknown_questionnaire_is_404(analyst_client, db):
    assert_error(analyst_client.get(responses_url("nope")), 404, "not_found")


def test_session_login_works_for_the_browsable_use(client, analyst, stored_response):
    client.force_login(analyst)
    stored_response()
    response = client.get(responses_url(), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert Response.objects.count() == 1
