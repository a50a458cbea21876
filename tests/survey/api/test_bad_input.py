"""Whatever a client sends, it gets a clear 4xx in the error shape and nothing is stored."""

import json
import uuid

import pytest

from survey.models import Response
from tests.survey.answers import complete_answers
from tests.survey.api.helpers import assert_error, submission_body, submission_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_stored(db):
    yield
    assert Response.objects.count() == 0


def post_raw(client, body: bytes | str, content_type: str = "application/json", **extra):
    return client.generic("POST", submission_url(), body, content_type=content_type, **extra)


@pytest.mark.parametrize(
    "body",
    ["{", '{"answers": }', "not json", '{"a": 1,}', "\xff\xfe", "[" * 5000, "NaN", '{"x": NaN}'],
    ids=["open", "missing-value", "text", "trailing-comma", "bad-utf8", "deep", "nan", "nan-in"],
)
def test_malformed_json_is_a_400_malformed_json(collector_client, body):
    raw = body.encode("latin-1") if body == "\xff\xfe" else body.encode()
    assert_error(post_raw(collector_client, raw), 400, "malformed_json")


def test_json_nested_deeper_than_the_limit_is_refused(collector_client):
    body = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    body["answers"]["Q18"] = deep
    assert_error(post_raw(collector_client, json.dumps(body)), 400, "malformed_json")


def test_a_body_that_is_not_an_object_is_refused(collector_client):
    error = assert_error(post_raw(collector_client, "[1, 2, 3]"), 400, "invalid")
    assert "dictionary" in error["message"] or "字典" in error["message"]


def test_an_empty_body_is_refused_naming_the_missing_fields(collector_client):
    error = assert_error(post_raw(collector_client, ""), 400, "invalid")
    assert "answers" in error["fields"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_other_media_types_are_415(collector_client, content_type):
    response = post_raw(collector_client, "answers=1", content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("submission_id", "not-a-uuid"),
        ("submission_id", 12345),
        ("submission_id", None),
        ("submission_id", ["x"]),
        ("submission_id", {"a": 1}),
        ("submission_id", True),
        ("answers", [1, 2]),
        ("answers", "D1=1"),
        ("answers", 7),
        ("answers", None),
        ("started_at", "yesterday"),
        ("started_at", "2024-13-45T00:00:00"),
        ("started_at", 1700000000),
        ("started_at", ["2024-01-01"]),
        ("started_at", "0001-01-01T00:00:00+14:00"),
        ("started_at", "1999-12-31T00:00:00Z"),
        ("started_at", "9999-12-31T23:59:59-14:00"),
        ("submitted_at", "garbage"),
        ("submitted_at", {"t": 1}),
        ("respondent_key", ""),
        ("respondent_key", "x" * 257),
        ("respondent_key", 42),
        ("respondent_key", "nul\x00"),
    ],
)
def test_wrong_types_for_every_body_field_name_the_field(collector_client, field, value):
    response = collector_client.post(
        submission_url(), submission_body(**{field: value}), format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("NOPE", 1),
        ("D1", 99),
        ("D1", "1; DROP TABLE survey_response"),
        ("Q2", {"a": 10**30, "b": 1, "c": 1, "d": 1}),
        ("Q2", {"a": 1e300, "b": 1, "c": 1, "d": 1}),
        ("Q2", {"a": -(10**18), "b": 1, "c": 1, "d": 1}),
        ("Q18", "x" * 10_000),
        ("Q18", "bell\x07 and escape\x1b"),
        ("Q18", "nul\x00byte"),
        ("Q18", {"text": "not a string"}),
        ("Q15R", "answer to a hidden question"),
        ("Q5", {"a": 1, "zz": 2}),
        ("Q9", list(range(10_000))),
        ("D6.other", "other text without the other option"),
    ],
)
def test_bad_answers_are_400_invalid_answers_naming_the_question(collector_client, code, value):
    answers = complete_answers(**{code: value})
    response = collector_client.post(
        submission_url(), submission_body(answers=answers), format="json"
    )
    error = assert_error(response, 400, "invalid_answers")
    assert any(key.split(".")[0] == code.split(".")[0] for key in error["fields"]), error


def test_numbers_beyond_float_range_are_refused(collector_client):
    body = json.dumps(submission_body()).replace('"D1": 1', '"D1": 1e400')
    response = post_raw(collector_client, body)
    error = assert_error(response, 400, "invalid_answers")
    assert "D1" in error["fields"]


def test_integers_with_thousands_of_digits_are_malformed(collector_client):
    body = json.dumps(submission_body()).replace('"D1": 1', '"D1": ' + "9" * 5000)
    assert_error(post_raw(collector_client, body), 400, "malformed_json")


def test_a_very_long_unknown_key_is_refused_without_trouble(collector_client):
    answers = complete_answers(**{"K" * 10_000: 1})
    response = collector_client.post(
        submission_url(), submission_body(answers=answers), format="json"
    )
    assert_error(response, 400, "invalid_answers")


def test_a_body_over_the_size_limit_is_413(collector_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = submission_body(answers=complete_answers(Q18="字" * 2000))
    response = collector_client.post(submission_url(), body, format="json")
    assert_error(response, 413, "too_large")


def test_an_unknown_questionnaire_is_404_before_the_body_is_read(collector_client, settings):
    # The questionnaire is looked up before the body is read: 404 wins, nothing is parsed.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = submission_body(answers=complete_answers(Q18="字" * 2000))
    response = collector_client.post(submission_url("nope"), body, format="json")
    assert_error(response, 404, "not_found")


def test_unknown_questionnaire_is_404_whatever_the_body(collector_client):
    response = collector_client.generic(
        "POST", submission_url("does-not-exist"), "{", content_type="application/json"
    )
    assert_error(response, 404, "not_found")


def test_other_methods_are_405_in_the_error_shape(collector_client):
    for method in ("get", "put", "patch", "delete"):
        response = getattr(collector_client, method)(submission_url())
        assert_error(response, 405, "method_not_allowed")
