"""The one error shape, from the exception handler's side."""

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions

from survey.services.responses import AnswersInvalid, SubmissionConflict
from survey.services.review import StatusChangeInvalid
from tests.survey.api.helpers import assert_error, submission_body, submission_url
from wenji.api.errors import DOMAIN_STATUS, ERROR_CODES, api_exception_handler


def handle(exc: Exception):
    return api_exception_handler(exc, {"view": None, "request": None})


def test_nested_serializer_errors_are_flattened_to_dotted_places():
    detail = {
        "answers": {"Q5": {"b": ["Too big."]}},
        "items": [{}, {"code": ["Required."]}],
        "non_field_errors": ["The body is odd."],
    }
    response = handle(exceptions.ValidationError(detail))
    assert response.status_code == 400
    assert response.data == {
        "error": "invalid",
        "message": "The body is odd.",
        "fields": {"answers.Q5.b": ["Too big."], "items.1.code": ["Required."]},
    }


def test_a_validation_error_without_fields_keeps_its_message():
    response = handle(exceptions.ValidationError("Nope."))
    assert response.data == {"error": "invalid", "message": "Nope.", "fields": {}}


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (AnswersInvalid("bad", {"Q1": ["x"]}), 400, "invalid_answers"),
        (SubmissionConflict("used", {"submission_id": ["x"]}), 409, "submission_conflict"),
        (StatusChangeInvalid("no", {"reason": ["x"]}), 400, "invalid_status_change"),
        (Http404(), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (exceptions.NotAcceptable(), 406, "not_acceptable"),
        (exceptions.Throttled(wait=7), 429, "rate_limited"),
    ],
)
def test_domain_and_framework_errors_map_to_status_and_code(exc, status, code):
    response = handle(exc)
    assert response.status_code == status
    assert set(response.data) == {"error", "message", "fields"}
    assert response.data["error"] == code
    assert code in ERROR_CODES


def test_a_throttled_answer_says_when_to_retry():
    assert handle(exceptions.Throttled(wait=7))["Retry-After"] == "7"


def test_a_programming_error_is_not_turned_into_a_4xx():
    assert handle(KeyError("bug")) is None


@pytest.mark.django_db
def test_errors_render_for_a_browser_too(collector_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = submission_body(answers={"Q18": "x" * 2000})
    response = collector_client.post(submission_url(), body, format="json", HTTP_ACCEPT="text/html")
    assert response.status_code == 413
    assert b"too_large" in response.content


@pytest.mark.django_db
def test_an_unacceptable_accept_header_is_406_in_the_error_shape(collector_client):
    response = collector_client.post(
        submission_url(), submission_body(), format="json", HTTP_ACCEPT="application/xml"
    )
    assert_error(response, 406, "not_acceptable")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_domain_error_code_is_in_the_schema_list_and_maps_to_400_or_409():
    import studio.services.edits
    import studio.services.team  # noqa: F401
    import survey.services.drafts
    import survey.services.given_weights
    import survey.services.responses
    import survey.services.review  # noqa: F401  (the DomainError subclasses live there)
    from wenji.errors import DomainError

    subclasses = _subclasses(DomainError)
    assert len(subclasses) >= 6
    for subclass in subclasses:
        assert subclass.code in ERROR_CODES, subclass
        response = handle(subclass("refused"))
        expected = 409 if subclass.conflict else 400
        assert response.status_code == DOMAIN_STATUS.get(subclass.code, expected)
        assert response.data["error"] == subclass.code
