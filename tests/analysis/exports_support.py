"""Fixtures and helpers shared by tests/analysis/test_exports_*.py (imported by each)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from survey.models import Questionnaire, QuestionnaireAccess, Response
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


@pytest.fixture
def media(settings, tmp_path):
    """Export files go to a temporary MEDIA_ROOT; jobs run in-process (no broker)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings.MEDIA_ROOT


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    """A user with the given roles (group names), granted the given questionnaires."""

    def make(
        name: str,
        *roles: str,
        grants: tuple[Questionnaire, ...] = (),
        identity: bool = False,
    ) -> User:
        user = User.objects.create_user(name, password=None)
        user.groups.add(*Group.objects.filter(name__in=roles))
        for questionnaire in grants:
            QuestionnaireAccess.objects.create(user=user, questionnaire=questionnaire)
        if identity:
            user.user_permissions.add(
                Permission.objects.get(
                    codename="view_respondent_identity", content_type__app_label="survey"
                )
            )
        return User.objects.get(pk=user.pk)  # no cached permissions

    return make


@pytest.fixture
def client_for() -> Callable[[User | None], APIClient]:
    """An API client authenticated by the user's token (anonymous for None)."""

    def build(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _created = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture
def analyst(make_user, ipb) -> User:
    return make_user("analyst", "analyst", grants=(ipb,))


def body_of(response: Any) -> bytes:
    """The whole body of a (streaming or file) HTTP response."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def requested(media, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """``export_request`` whose job runs when the request's transaction commits (as in
    production with Celery eager); gives back the Export as it is afterwards."""
    from analysis.services.exports import export_request

    def request(**kwargs: Any) -> Any:
        kwargs.setdefault("filters", {})
        with django_capture_on_commit_callbacks(execute=True):
            export = export_request(**kwargs)
        export.refresh_from_db()
        return export

    return request
