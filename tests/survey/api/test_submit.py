import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from survey.models import Respondent, Response
from survey.services.identity import Identity, identity_hash
from survey.services.questionnaires import questionnaire_close
from tests.survey.answers import complete_answers
from tests.survey.api.helpers import assert_error, submission_body, submission_url

pytestmark = pytest.mark.django_db

RESULT_KEYS = {
    "id",
    "submission_id",
    "status",
    "reasons",
    "status_provisional",
    "over_quota",
    "submitted_at",
}


def test_a_granted_collector_stores_a_submission_and_gets_201(collector_client):
    body = submission_body()
    response = collector_client.post(submission_url(), body, format="json")
    assert response.status_code == 201, response.json()
    result = response.json()
    assert set(result) == RESULT_KEYS
    assert result["submission_id"] == body["submission_id"]
    assert result["status"] == "valid"
    assert result["reasons"] == []
    stored = Response.objects.get()
    assert stored.pk == result["id"]
    assert stored.channel == Response.Channel.API


def test_resubmitting_the_same_submission_answers_200_with_the_same_response(collector_client):
    body = submission_body()
    first = collector_client.post(submission_url(), body, format="json")
    again = collector_client.post(submission_url(), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Response.objects.count() == 1


def test_the_same_submission_id_with_other_answers_is_a_409_conflict(collector_client):
    body = submission_body()
    collector_client.post(submission_url(), body, format="json")
    body["answers"] = complete_answers(D1=2)
    response = collector_client.post(submission_url(), body, format="json")
    error = assert_error(response, 409, "submission_conflict")
    assert "submission_id" in error["fields"]
    assert Response.objects.count() == 1


def test_the_idempotency_key_header_may_carry_the_submission_id(collector_client):
    key = uuid.uuid4()
    body = {"answers": complete_answers()}
    first = collector_client.post(
        submission_url(), body, format="json", HTTP_IDEMPOTENCY_KEY=str(key)
    )
    again = collector_client.post(
        submission_url(), body, format="json", HTTP_IDEMPOTENCY_KEY=str(key)
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["submission_id"] == str(key)
    assert Response.objects.get().submission_id == key


def test_a_header_and_body_submission_id_that_differ_are_refused(collector_client):
    response = collector_client.post(
        submission_url(), submission_body(), format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    error = assert_error(response, 400, "invalid")
    assert "submission_id" in error["fields"]
    assert Response.objects.count() == 0


def test_a_header_and_body_submission_id_that_match_are_accepted(collector_client):
    body = submission_body()
    response = collector_client.post(
        submission_url(), body, format="json", HTTP_IDEMPOTENCY_KEY=body["submission_id"]
    )
    assert response.status_code == 201


def test_a_submission_without_any_submission_id_is_refused(collector_client):
    response = collector_client.post(
        submission_url(), {"answers": complete_answers()}, format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert "submission_id" in error["fields"]


def test_a_malformed_idempotency_key_is_refused_naming_the_header(collector_client):
    response = collector_client.post(
        submission_url(),
        {"answers": complete_answers()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="not-a-uuid",
    )
    error = assert_error(response, 400, "invalid")
    assert "Idempotency-Key" in error["fields"]


def test_invalid_answers_are_a_400_keyed_by_question_code(collector_client):
    answers = complete_answers(D2=9)
    del answers["Q5"]["b"]
    response = collector_client.post(
        submission_url(), submission_body(answers=answers), format="json"
    )
    error = assert_error(response, 400, "invalid_answers")
    assert {"D2", "Q5.b"} <= set(error["fields"])
    assert all(isinstance(m, str) for ms in error["fields"].values() for m in ms)
    assert Response.objects.count() == 0


def test_impossible_times_are_a_400_naming_the_field(collector_client):
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    response = collector_client.post(
        submission_url(), submission_body(started_at=future), format="json"
    )
    error = assert_error(response, 400, "invalid_timing")
    assert "started_at" in error["fields"]


def test_timing_sent_by_the_collector_is_recorded(collector_client):
    then = timezone.now() - timedelta(days=2)
    body = submission_body(
        started_at=(then - timedelta(minutes=10)).isoformat(), submitted_at=then.isoformat()
    )
    response = collector_client.post(submission_url(), body, format="json")
    assert response.status_code == 201
    stored = Response.objects.get()
    assert stored.duration_seconds == 600
    assert abs(stored.submitted_at - then) < timedelta(seconds=1)


def test_a_closed_questionnaire_refuses_new_submissions_with_409(collector_client, ipb):
    questionnaire_close(questionnaire=ipb)
    response = collector_client.post(submission_url(), submission_body(), format="json")
    assert_error(response, 409, "questionnaire_not_open")
    assert Response.objects.count() == 0


def test_a_retry_after_closing_still_gets_the_stored_response(collector_client, ipb):
    body = submission_body()
    first = collector_client.post(submission_url(), body, format="json")
    questionnaire_close(questionnaire=ipb)
    again = collector_client.post(submission_url(), body, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_a_draft_is_not_open_for_an_admin_either(client_for, admin_user, ipb_draft):
    response = client_for(admin_user).post(submission_url(), submission_body(), format="json")
    assert_error(response, 409, "questionnaire_not_open")


def test_an_unknown_questionnaire_is_404(collector_client):
    response = collector_client.post(submission_url("nope"), submission_body(), format="json")
    assert_error(response, 404, "not_found")


def test_the_respondent_key_is_hashed_per_collector(collector_client, collector, ipb):
    body = submission_body(respondent_key="household-17")
    assert collector_client.post(submission_url(), body, format="json").status_code == 201
    respondent = Respondent.objects.get()
    assert respondent.kind == "collector"
    expected = identity_hash(Identity("collector", f"{collector.pk}:household-17"))
    assert respondent.identity_hash == expected
    assert "household-17" not in respondent.identity_hash


def test_the_same_respondent_key_twice_is_a_duplicate(collector_client):
    first = collector_client.post(
        submission_url(), submission_body(respondent_key="r-1"), format="json"
    )
    second = collector_client.post(
        submission_url(), submission_body(respondent_key="r-1"), format="json"
    )
    assert first.json()["status"] == "valid"
    assert second.json()["status"] == "invalid"
    assert second.json()["reasons"] == ["duplicate"]


def test_the_same_key_from_two_collectors_is_two_respondents(
    collector_client, make_user, client_for, ipb
):
    colleague = client_for(make_user("colleague", "collector", grants=(ipb,)))
    collector_client.post(submission_url(), submission_body(respondent_key="r-1"), format="json")
    second = colleague.post(submission_url(), submission_body(respondent_key="r-1"), format="json")
    assert second.json()["status"] == "valid"
    assert Respondent.objects.count() == 2


def test_the_client_ip_is_kept_only_as_a_hash(collector_client):
    collector_client.post(
        submission_url(), submission_body(), format="json", REMOTE_ADDR="10.9.8.7"
    )
    stored = Response.objects.get()
    assert stored.ip_hash
    assert "10.9.8.7" not in stored.ip_hash


def test_the_submission_result_never_shows_identity_hashes(collector_client):
    response = collector_client.post(
        submission_url(), submission_body(respondent_key="r-1"), format="json"
    )
    text = response.content.decode()
    stored = Response.objects.select_related("respondent").get()
    assert stored.ip_hash not in text
    assert stored.respondent.identity_hash not in text


def test_a_body_just_under_the_limit_is_read(collector_client, settings):
    body = json.dumps(submission_body(), ensure_ascii=False)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body.encode()) + 10
    response = collector_client.generic(
        "POST", submission_url(), body, content_type="application/json"
    )
    assert response.status_code == 201


# --- who may submit ------------------------------------------------------------------------


def test_anonymous_submissions_are_401(client_for, ipb):
    response = client_for(None).post(submission_url(), submission_body(), format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_bad_token_is_401(ipb):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.post(submission_url(), submission_body(), format="json")
    assert_error(response, 401, "not_authenticated")


def test_an_analyst_may_not_submit(analyst_client):
    response = analyst_client.post(submission_url(), submission_body(), format="json")
    assert_error(response, 403, "permission_denied")
    assert Response.objects.count() == 0


def test_a_user_without_a_role_may_not_submit(make_user, client_for, ipb):
    nobody = make_user("nobody", grants=(ipb,))
    response = client_for(nobody).post(submission_url(), submission_body(), format="json")
    assert_error(response, 403, "permission_denied")


def test_a_collector_of_another_questionnaire_gets_404(client_for, other_collector, ipb):
    response = client_for(other_collector).post(submission_url(), submission_body(), format="json")
    assert_error(response, 404, "not_found")
    assert Response.objects.count() == 0


def test_an_admin_needs_no_grant(client_for, admin_user, ipb):
    response = client_for(admin_user).post(submission_url(), submission_body(), format="json")
    assert response.status_code == 201


def test_a_superuser_counts_as_admin(client_for, make_user, ipb):
    root = make_user("root", superuser=True)
    response = client_for(root).post(submission_url(), submission_body(), format="json")
    assert response.status_code == 201


def test_an_option_code_as_text_names_the_same_option_and_is_stored_as_declared(
    collector_client, ipb
):
    """Decided and documented in the schema: "1" and 1 are the same option (an HTML form
    sends text), and the answer keeps the definition's own type."""
    answers = {**complete_answers(), "D1": "1", "Q9": ["1", 4]}
    response = collector_client.post(
        submission_url(), submission_body(answers=answers), format="json"
    )
    assert response.status_code == 201, response.json()
    stored = Response.objects.get(pk=response.json()["id"]).answers
    assert stored["D1"] == 1 and stored["Q9"] == [1, 4]
    schema = collector_client.get("/api/v1/schema/?format=json").json()
    answers_schema = schema["components"]["schemas"]["SubmissionRequest"]["properties"]["answers"]
    assert '"1", as an HTML form sends it' in answers_schema["description"]


@pytest.mark.parametrize("value", ["1.0", " 1", "01", True])
def test_anything_else_is_not_an_option_and_is_refused_naming_the_question(
    collector_client, ipb, value
):
    answers = {**complete_answers(), "D1": value}
    response = collector_client.post(
        submission_url(), submission_body(answers=answers), format="json"
    )
    body = assert_error(response, 400, "invalid_answers")
    assert list(body["fields"]) == ["D1"]
