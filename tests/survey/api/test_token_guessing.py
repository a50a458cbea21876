"""Guessing API tokens: wrong tokens are counted per hashed address; past the limit every
token from that address gets 429 until the window ends, and the count survives a Redis
outage in this process's memory."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from tests.survey.api.helpers import assert_error, submission_body, submission_url
from wenji.hashing import ip_hash

pytestmark = pytest.mark.django_db

WRONG = "Token " + "0" * 40


@pytest.fixture
def limited(settings):
    settings.API_TOKEN_FAILURE_LIMIT = "3/hour"


def post(client, **headers):
    return client.post(submission_url(), submission_body(), format="json", **headers)


def wrong(**headers):
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=WRONG)
    return client


def test_wrong_tokens_past_the_limit_lock_the_address_out_even_for_a_right_token(
    limited, make_user, client_for, ipb
):
    right = client_for(make_user("collector", "collector", grants=(ipb,)))
    for _attempt in range(3):
        assert_error(post(wrong()), 401, "not_authenticated")
    locked = post(wrong())
    assert_error(locked, 429, "rate_limited")
    assert "错误的 API 令牌过多" in locked.json()["message"]
    assert int(locked["Retry-After"]) == 3600
    assert post(right).status_code == 429  # the right token too, from this address
    assert post(right, REMOTE_ADDR="203.0.113.7").status_code == 201  # another address
    assert_error(post(wrong(REMOTE_ADDR="203.0.113.7")), 401, "not_authenticated")
    assert cache.get(f"throttle_token_failures_{ip_hash('127.0.0.1')}") == 3  # keyed hash


@pytest.mark.redis
def test_a_locked_out_address_takes_nothing_of_a_right_tokens_rate_limit(
    limited, make_user, client_for, ipb, settings
):
    """The lock-out is read in the round trip that would take the collector's rate limit
    (RateTakenWithToken): a request refused by it takes nothing."""
    settings.SUBMIT_RATE_LIMIT = "2/minute"
    cache.clear()
    user = make_user("collector", "collector", grants=(ipb,))
    right = client_for(user)
    assert post(right).status_code == 201  # its user now known to this process
    client = cache._cache.get_client(write=True)
    (bucket,) = client.keys("*throttle_submit_user*")
    before = client.get(bucket)
    for _attempt in range(3):
        assert_error(post(wrong()), 401, "not_authenticated")
    assert_error(post(right), 429, "rate_limited")
    assert client.get(bucket) == before
    assert post(right, REMOTE_ADDR="203.0.113.7").status_code == 201
    assert client.get(bucket) != before  # taken by the request that passed


def test_right_tokens_and_requests_without_one_are_not_counted(limited, make_user, client_for, ipb):
    right = client_for(make_user("collector", "collector", grants=(ipb,)))
    anonymous = APIClient()
    for _attempt in range(5):
        assert post(right).status_code == 201
        assert post(anonymous).status_code == 401
    assert_error(post(wrong()), 401, "not_authenticated")
    assert post(right).status_code == 201


def test_the_count_goes_on_in_this_process_while_the_cache_is_down(
    limited, make_user, client_for, ipb, monkeypatch
):
    def down(*args, **kwargs):
        raise RedisConnectionError("refused")

    for name in ("get", "get_many", "add", "incr", "set"):
        monkeypatch.setattr(cache, name, down)
    right = client_for(make_user("collector", "collector", grants=(ipb,)))
    for _attempt in range(3):
        assert_error(post(wrong()), 401, "not_authenticated")
    assert_error(post(wrong()), 429, "rate_limited")
    assert_error(post(right), 429, "rate_limited")
