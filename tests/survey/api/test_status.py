import pytest

from survey.models import Response, StatusChange
from tests.survey.api.helpers import assert_error, status_url

pytestmark = pytest.mark.django_db


def test_a_granted_analyst_decides_a_status_and_gets_the_response_back(
    analyst_client, stored_response
):
    response = stored_response(Q5={item: 2 for item in "abcde"})
    reply = analyst_client.post(
        status_url(response.pk), {"status": "valid", "reason": "called back"}, format="json"
    )
    assert reply.status_code == 200, reply.json()
    body = reply.json()
    assert body["id"] == response.pk
    assert (body["status"], body["manual_status"]) == ("valid", "valid")
    assert body["reasons"] == ["straightlining"]
    assert body["status_changes"][0]["reason"] == "called back"
    change = StatusChange.objects.get()
    assert (change.from_status, change.to_status) == ("flagged", "valid")


def test_an_admin_decides_without_a_grant(client_for, admin_user, stored_response):
    response = stored_response()
    reply = client_for(admin_user).post(
        status_url(response.pk), {"status": "flagged", "reason": "odd"}, format="json"
    )
    assert reply.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "great", "reason": "x"}, "status"),
        ({"status": 1, "reason": "x"}, "status"),
        ({"reason": "x"}, "status"),
        ({"status": "valid"}, "reason"),
        ({"status": "valid", "reason": 5}, "reason"),
        ({"status": "valid", "reason": None}, "reason"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(analyst_client, stored_response, body, field):
    response = stored_response()
    error = assert_error(
        analyst_client.post(status_url(response.pk), body, format="json"), 400, "invalid"
    )
    assert field in error["fields"]
    assert StatusChange.objects.count() == 0


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001, "bell\x07"])
def test_reasons_the_schema_forbids_are_400_naming_the_reason(
    analyst_client, stored_response, reason
):
    """The schema says what a reason must be (a pattern and a length); the serializer holds
    the request to it before the review service sees it."""
    response = stored_response()
    reply = analyst_client.post(
        status_url(response.pk), {"status": "invalid", "reason": reason}, format="json"
    )
    error = assert_error(reply, 400, "invalid")
    assert "reason" in error["fields"]
    assert Response.objects.get().manual_status == ""


def test_malformed_json_is_refused(analyst_client, stored_response):
    response = stored_response()
    reply = analyst_client.generic(
        "POST", status_url(response.pk), "{bad", content_type="application/json"
    )
    assert_error(reply, 400, "malformed_json")


def test_a_body_over_the_limit_is_413(analyst_client, stored_response, settings):
    response = stored_response()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    reply = analyst_client.post(
        status_url(response.pk), {"status": "valid", "reason": "x" * 2000}, format="json"
    )
    assert_error(reply, 413, "too_large")
    assert StatusChange.objects.count() == 0


def test_anonymous_is_401(client_for, stored_response):
    reply = client_for(None).post(
        status_url(stored_response().pk), {"status": "valid", "reason": "x"}, format="json"
    )
    assert_error(reply, 401, "not_authenticated")


def test_a_collector_is_403(collector_client, stored_response):
    reply = collector_client.post(
        status_url(stored_response().pk), {"status": "valid", "reason": "x"}, format="json"
    )
    assert_error(reply, 403, "permission_denied")
    assert StatusChange.objects.count() == 0


def test_an_analyst_of_another_questionnaire_gets_404(client_for, other_analyst, stored_response):
    reply = client_for(other_analyst).post(
        status_url(stored_response().pk), {"status": "valid", "reason": "x"}, format="json"
    )
    assert_error(reply, 404, "not_found")
    assert StatusChange.objects.count() == 0


def test_a_session_user_needs_a_csrf_token(analyst, stored_response):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    reply = client.post(
        status_url(stored_response().pk),
        {"status": "valid", "reason": "x"},
        content_type="application/json",
    )
    assert_error(reply, 403, "permission_denied")
    assert StatusChange.objects.count() == 0
