"""Helpers shared by tests/analysis/test_exports_*.py (their fixtures: conftest.py)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from survey.models import Questionnaire, Response
from survey.services.identity import Identity
from survey.services.responses import response_submit
from tests.survey.answers import complete_answers

BASE_TIME = timezone.now().replace(microsecond=0) - timedelta(days=30)


def submit(
    questionnaire: Questionnaire,
    answers: dict[str, Any] | None = None,
    *,
    submitted_at: datetime | None = None,
    duration: float = 480.0,
    identity: str | None = None,
) -> Response:
    """One response through ``response_submit``, as a collector would send it."""
    submitted_at = submitted_at or BASE_TIME
    return response_submit(
        questionnaire=questionnaire,
        answers=complete_answers() if answers is None else answers,
        submission_id=uuid.uuid4(),
        channel=Response.Channel.API,
        identity=Identity("collector", identity) if identity else None,
        started_at=submitted_at - timedelta(seconds=duration),
        submitted_at=submitted_at,
        ip_address="203.0.113.7",
    ).response


def csv_rows(body: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    """The CSV as Python's csv module (RFC 4180) reads it."""
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


def body_of(response: Any) -> bytes:
    """The whole body of a (streaming or file) HTTP response."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content
