import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from survey.models import Response
from tests.survey.api.helpers import assert_error, definition_url, submission_body, submission_url
from wenji.api.throttling import DefinitionThrottle
from wenji.hashing import ip_hash

pytestmark = pytest.mark.django_db


def test_submissions_over_the_rate_are_429_with_retry_after(collector_client, settings):
    settings.SUBMIT_RATE_LIMIT = "2/minute"
    for _ in range(2):
        reply = collector_client.post(submission_url(), submission_body(), format="json")
        assert reply.status_code == 201
    reply = collector_client.post(submission_url(), submission_body(), format="json")
    assert_error(reply, 429, "rate_limited")
    assert 0 < int(reply["Retry-After"]) <= 60
    assert Response.objects.count() == 2


def test_each_collector_has_its_own_budget(collector_client, make_user, client_for, ipb, settings):
    settings.SUBMIT_RATE_LIMIT = "1/minute"
    colleague = client_for(make_user("colleague", "collector", grants=(ipb,)))
    for client in (collector_client, colleague):
        assert client.post(submission_url(), submission_body(), format="json").status_code == 201
    reply = collector_client.post(submission_url(), submission_body(), format="json")
    assert_error(reply, 429, "rate_limited")


def test_refused_submissions_count_too(collector_client, settings):
    settings.SUBMIT_RATE_LIMIT = "2/minute"
    for _ in range(2):
        collector_client.post(submission_url(), {"answers": []}, format="json")
    reply = collector_client.post(submission_url(), submission_body(), format="json")
    assert_error(reply, 429, "rate_limited")


def test_anonymous_definition_reads_are_limited_per_ip(client_for, ipb, settings):
    settings.DEFINITION_RATE_LIMIT = "2/minute"
    client = client_for(None)
    for _ in range(2):
        assert client.get(definition_url(), REMOTE_ADDR="203.0.113.1").status_code == 200
    assert_error(client.get(definition_url(), REMOTE_ADDR="203.0.113.1"), 429, "rate_limited")
    assert client.get(definition_url(), REMOTE_ADDR="203.0.113.2").status_code == 200


def test_a_forged_forwarded_for_header_does_not_buy_a_new_budget(client_for, ipb, settings):
    settings.DEFINITION_RATE_LIMIT = "1/minute"
    client = client_for(None)
    assert client.get(definition_url(), HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
    reply = client.get(definition_url(), HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert_error(reply, 429, "rate_limited")


def test_the_throttle_key_holds_the_ip_hash_never_the_ip(db):
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR="198.51.100.77"))
    key = DefinitionThrottle().get_cache_key(request, view=None)
    assert "198.51.100.77" not in key
    assert ip_hash("198.51.100.77") in key


def test_a_signed_in_readers_budget_is_their_own(client_for, analyst, ipb, settings):
    settings.DEFINITION_RATE_LIMIT = "1/minute"
    assert client_for(None).get(definition_url()).status_code == 200
    assert client_for(analyst).get(definition_url()).status_code == 200


@pytest.mark.parametrize("value", ["30", "30/fortnight", "0/minute", "-1/minute", "many/minute"])
def test_a_malformed_rate_setting_stops_start_up(monkeypatch, value):
    from config.settings import _env_rate

    monkeypatch.setenv("SUBMIT_RATE_LIMIT", value)
    with pytest.raises(ImproperlyConfigured, match="SUBMIT_RATE_LIMIT"):
        _env_rate("SUBMIT_RATE_LIMIT", "30/minute")


def test_the_default_rate_is_30_per_minute(monkeypatch):
    from config.settings import _env_rate

    monkeypatch.delenv("SUBMIT_RATE_LIMIT", raising=False)
    assert _env_rate("SUBMIT_RATE_LIMIT", "30/minute") == "30/minute"


def test_behind_a_trusted_proxy_the_forwarded_client_has_its_own_budget(client_for, ipb, settings):
    settings.DEFINITION_RATE_LIMIT = "1/minute"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = client_for(None)
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get(definition_url(), HTTP_X_FORWARDED_FOR="1.1.1.1", **proxy).status_code == 200
    assert client.get(definition_url(), HTTP_X_FORWARDED_FOR="2.2.2.2", **proxy).status_code == 200
    reply = client.get(definition_url(), HTTP_X_FORWARDED_FOR="1.1.1.1", **proxy)
    assert_error(reply, 429, "rate_limited")


@pytest.mark.redis
def test_in_redis_a_budget_is_one_number_kept_by_one_script_call(
    collector_client, settings, redis_commands
):
    """GCRA in one round trip: a burst up to the count, then one request per period/count;
    the bucket is one number (no list of timestamps), refused requests do not change it."""
    import time

    from django.core.cache import cache

    settings.SUBMIT_RATE_LIMIT = "4/second"
    cache.clear()
    client = cache._cache.get_client(write=True)
    scripts = redis_commands("EVALSHA")
    codes = [
        collector_client.post(submission_url(), submission_body(), format="json").status_code
        for _ in range(6)
    ]
    assert codes == [201] * 4 + [429] * 2
    assert 6 <= len(scripts) <= 7  # one script call a request (+1 if Redis had to load it first)
    (key,) = client.keys("*throttle_submit_user*")
    stored = float(client.get(key))
    assert stored > time.time() * 1_000_000  # the next free time, in microseconds
    time.sleep(0.3)  # one period/count (0.25 s) later, exactly one more passes
    codes = [
        collector_client.post(submission_url(), submission_body(), format="json").status_code
        for _ in range(2)
    ]
    assert codes == [201, 429]
    assert Response.objects.count() == 5


# --- the rate limit taken in the token's round trip (RateTakenWithToken) ----------------------


def _buckets() -> dict[str, float]:
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    return {
        key.decode().rsplit("_", 1)[1]: float(client.get(key))
        for key in client.keys("*throttle_submit_user*")
    }


@pytest.mark.redis
def test_a_request_refused_for_its_role_takes_nothing(make_user, client_for, ipb, settings):
    """Its token known, a request takes the limit before its permissions are checked; a 403
    gives it back, so refused requests take nothing, as when the limit came after them."""
    from django.core.cache import cache

    settings.SUBMIT_RATE_LIMIT = "2/minute"
    cache.clear()
    reader = make_user("reader", "analyst", grants=(ipb,))
    client = client_for(reader)
    codes = [
        client.post(submission_url(), submission_body(), format="json").status_code
        for _ in range(4)
    ]
    assert codes == [403] * 4
    assert _buckets() == {}
    reader.groups.add(Group.objects.get(name="collector"))  # may submit now: a full budget
    codes = [
        client.post(submission_url(), submission_body(), format="json").status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]


@pytest.mark.redis
def test_a_token_whose_user_this_process_misremembers_takes_its_own_users_limit(
    make_user, client_for, ipb, settings
):
    from django.core.cache import cache
    from rest_framework.authtoken.models import Token

    from wenji.api.token_cache import token_cache_key, token_user_id_hint, token_user_id_note

    settings.SUBMIT_RATE_LIMIT = "2/minute"
    cache.clear()
    user = make_user("collector", "collector", grants=(ipb,))
    client = client_for(user)
    entry = token_cache_key(Token.objects.get(user=user).key)
    assert client.post(submission_url(), submission_body(), format="json").status_code == 201
    assert token_user_id_hint(entry) == user.pk
    token_user_id_note(entry, user.pk + 1000)  # as if the token had been another user's
    assert client.post(submission_url(), submission_body(), format="json").status_code == 201
    assert set(_buckets()) == {f"user:{user.pk}"}  # the other user's taken and given back
    assert token_user_id_hint(entry) == user.pk
    reply = client.post(submission_url(), submission_body(), format="json")
    assert_error(reply, 429, "rate_limited")
    assert Response.objects.count() == 2
