"""URLs, bodies and the error-shape assertion shared by the API tests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.survey.answers import complete_answers


def submission_url(slug: str = "ipb-survey") -> str:
    return f"/api/v1/questionnaires/{slug}/submissions/"


def responses_url(slug: str = "ipb-survey") -> str:
    return f"/api/v1/questionnaires/{slug}/responses/"


def response_url(response_id: int, slug: str = "ipb-survey") -> str:
    return f"/api/v1/questionnaires/{slug}/responses/{response_id}/"


def status_url(response_id: int, slug: str = "ipb-survey") -> str:
    return f"/api/v1/questionnaires/{slug}/responses/{response_id}/status/"


def definition_url(slug: str = "ipb-survey") -> str:
    return f"/api/v1/questionnaires/{slug}/definition/"


def submission_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
    body.update(overrides)
    return body


def assert_error(response, status: int, code: str) -> dict:
    """The response is ``status`` in the one error shape with ``code``; returns its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message", "fields"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body
