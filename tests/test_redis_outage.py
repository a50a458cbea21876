"""Collecting through a Redis outage: with its own redis-server killed mid-stream, the collector
API and the definition endpoint keep answering (rate limits kept in this process, logged once),
nothing is lost, /healthz stays up while /readyz says 503, and all recovers when Redis is back."""

from __future__ import annotations

import logging
import uuid

import pytest
from rest_framework.authtoken.models import Token

from survey.models import Response
from tests.analysis.test_worker import own_redis  # noqa: F401  (fixture)
from tests.survey.answers import complete_answers
from wenji.api.throttling import _LOCAL_BUCKETS

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

SUBMIT = "/api/v1/questionnaires/ipb-survey/submissions/"
DEFINITION = "/api/v1/questionnaires/ipb-survey/definition/"


@pytest.fixture(autouse=True)
def _no_local_buckets():
    """Buckets kept in this process by an earlier test's outage must not count here."""
    _LOCAL_BUCKETS.clear()


def _submit(client, token):
    body = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
    return client.post(SUBMIT, body, format="json", HTTP_AUTHORIZATION=f"Token {token}")


def test_the_api_keeps_collecting_while_redis_is_down(
    ipb,
    make_user,
    client_for,
    own_redis,  # noqa: F811  (the fixture of tests/analysis/test_worker.py)
    settings,
    caplog,
):
    settings.SUBMIT_RATE_LIMIT = "1000/minute"
    token = Token.objects.create(user=make_user("collector", "collector", grants=(ipb,))).key
    client = client_for(None)
    assert _submit(client, token).status_code == 201
    assert client.get("/readyz").json()["checks"]["redis"] == "ok"

    own_redis.kill()
    with caplog.at_level(logging.WARNING, logger="wenji.api.throttling"):
        during = [_submit(client, token).status_code for _ in range(20)]
        definition = client.get(DEFINITION)
    assert during == [201] * 20
    assert definition.status_code == 200
    assert Response.objects.count() == 21
    assert caplog.text.count("the shared cache is unreachable") == 1  # once, not per request
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {
        "database": "ok",
        "redis": "unavailable",
        "worker": "unavailable",  # no one can say: its marks are in Redis
    }

    own_redis.start()
    with caplog.at_level(logging.WARNING, logger="wenji.api.throttling"):
        assert _submit(client, token).status_code == 201
    assert "the shared cache is back" in caplog.text
    assert client.get("/readyz").json()["checks"]["redis"] == "ok"
    assert Response.objects.count() == 22


def test_the_local_limits_still_limit(ipb, make_user, client_for, own_redis, settings):  # noqa: F811
    settings.SUBMIT_RATE_LIMIT = "3/minute"
    token = Token.objects.create(user=make_user("collector", "collector", grants=(ipb,))).key
    own_redis.kill()
    codes = [_submit(client_for(None), token).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429]
