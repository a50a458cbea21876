"""Token authentication reads the user's roles in the token's own query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.survey.api.helpers import assert_error, submission_body, submission_url

pytestmark = pytest.mark.django_db


def test_a_submission_reads_token_user_and_roles_in_one_query(collector_client):
    with CaptureQueriesContext(connection) as queries:
        response = collector_client.post(submission_url(), submission_body(), format="json")
    assert response.status_code == 201, response.json()
    touching = [q["sql"] for q in queries if "auth_group" in q["sql"] or "authtoken" in q["sql"]]
    assert len(touching) == 1, touching
    assert "authtoken_token" in touching[0] and "auth_group" in touching[0]


@pytest.mark.parametrize(
    ("roles", "superuser", "expected"),
    [
        (("collector",), False, 201),
        (("analyst",), False, 403),
        (("analyst", "collector"), False, 201),
        (("admin",), False, 201),
        ((), True, 201),
        (("viewer",), False, 403),  # a group that is not a role
        ((), False, 403),
    ],
)
def test_the_roles_read_with_the_token_decide_who_may_submit(
    make_user, client_for, ipb, roles, superuser, expected
):
    user = make_user("someone", *roles, grants=(ipb,), superuser=superuser)
    response = client_for(user).post(submission_url(), submission_body(), format="json")
    assert response.status_code == expected, response.json()


def test_an_unknown_token_and_an_inactive_user_are_refused_with_401(make_user, client_for, ipb):
    user = make_user("collector", "collector", grants=(ipb,))
    client = client_for(user)
    user.is_active = False
    user.save()
    assert_error(
        client.post(submission_url(), submission_body(), format="json"), 401, "not_authenticated"
    )
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(
        client.post(submission_url(), submission_body(), format="json"), 401, "not_authenticated"
    )


# --- remembered tokens (wenji.api.token_cache) ------------------------------------------------


def _token_reads(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(submission_url(), submission_body(), format="json")
    assert response.status_code == 201, response.json()
    return sum("authtoken_token" in q["sql"] for q in queries)


def test_a_second_call_with_the_token_does_not_read_it_again(collector_client):
    assert _token_reads(collector_client) == 1
    assert _token_reads(collector_client) == 0


def test_a_revoked_token_is_refused_at_once(make_user, client_for, ipb):
    from rest_framework.authtoken.models import Token

    user = make_user("col", "collector", grants=(ipb,))
    client = client_for(user)
    assert _token_reads(client) == 1
    Token.objects.filter(user=user).get().delete()  # revoked
    refused = client.post(submission_url(), submission_body(), format="json")
    assert refused.status_code == 401


def test_a_deactivated_user_and_a_removed_role_are_refused_at_once(make_user, client_for, ipb):
    from django.contrib.auth.models import Group

    first = make_user("col1", "collector", grants=(ipb,))
    client = client_for(first)
    assert _token_reads(client) == 1
    first.is_active = False
    first.save()
    assert client.post(submission_url(), submission_body(), format="json").status_code == 401

    second = make_user("col2", "collector", grants=(ipb,))
    other = client_for(second)
    assert _token_reads(other) == 1
    second.groups.remove(Group.objects.get(name="collector"))
    assert other.post(submission_url(), submission_body(), format="json").status_code == 403


def test_with_the_cache_down_the_token_is_read_from_the_database(collector_client, monkeypatch):
    from django.core.cache import cache
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    assert _token_reads(collector_client) == 1
    assert _token_reads(collector_client) == 1  # nothing remembered, nothing refused


@pytest.mark.redis
def test_a_remembered_tokens_submission_makes_one_round_trip_to_redis(
    collector_client, redis_commands
):
    """The token's cache entry, the address's wrong tokens and the collector's rate limit: one
    script call (the first submission reads the database and tells this process whose token
    it is; the second may have to load the script into Redis first)."""
    assert _token_reads(collector_client) == 1  # now remembered
    assert _token_reads(collector_client) == 0
    sent = redis_commands("GET", "MGET", "EVALSHA", "EVAL", "SCRIPT")
    assert _token_reads(collector_client) == 0
    assert sent == ["EVALSHA"]
