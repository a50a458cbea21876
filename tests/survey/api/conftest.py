"""Users in each role, their API clients, and a second questionnaire to be refused on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from survey.interchange import load_definition
from survey.models import Questionnaire
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from survey.services.responses import response_submit
from tests.conftest import EXAMPLE_DEFINITION
from tests.survey.answers import complete_answers


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Throttle buckets live in the cache, which outlives a test: start each one empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_questionnaire(db) -> Questionnaire:
    """A second open questionnaire (the reference one under another slug)."""
    definition = load_definition(EXAMPLE_DEFINITION.read_bytes(), filename=EXAMPLE_DEFINITION.name)
    definition["slug"] = "other-survey"
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))


@pytest.fixture
def collector(make_user, ipb) -> User:
    return make_user("collector", "collector", grants=(ipb,))


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("admin", "admin")


@pytest.fixture
def other_analyst(make_user, other_questionnaire) -> User:
    """An analyst of another questionnaire only."""
    return make_user("other-analyst", "analyst", grants=(other_questionnaire,))


@pytest.fixture
def other_collector(make_user, other_questionnaire) -> User:
    """A collector of another questionnaire only."""
    return make_user("other-collector", "collector", grants=(other_questionnaire,))


@pytest.fixture
def collector_client(client_for, collector) -> APIClient:
    return client_for(collector)


@pytest.fixture
def analyst_client(client_for, analyst) -> APIClient:
    return client_for(analyst)


@pytest.fixture
def stored_response(ipb):
    """One response, stored through the submit service as the collector API would."""

    def store(**overrides: Any):
        return response_submit(
            questionnaire=ipb,
            answers=complete_answers(**overrides),
            submission_id=uuid.uuid4(),
            channel="api",
        ).response

    return store
