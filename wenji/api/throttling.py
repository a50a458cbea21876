"""Rate limits for the endpoints anyone can reach or that write.

Buckets live in the Django cache (Redis in production, per-process memory on a laptop). The
bucket of a signed-in client is its user; of an anonymous one, the keyed hash of its IP
address (``ip_hash``), so raw addresses never become cache keys. Rates are read from settings
on every request, so they can be changed in tests and by environment.

While the shared cache is unreachable, limits are kept in this process's memory instead
(per process, so looser by the number of processes): collecting goes on through a Redis
outage. The switch is logged once when it happens and once when the cache is back.

``TokenFailures`` counts wrong API tokens per hashed address (``API_TOKEN_FAILURE_LIMIT``):
past the limit, every token from that address is refused until the window ends, so a token
cannot be guessed by trying many.

A submission's rate limit is taken in the same Redis round trip that reads its token's cache
entry and its address's wrong tokens (``RateTakenWithToken``), so it costs no round trip of
its own; what it decides is the same as if it were taken after the permissions.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from wenji.cache import redis_script, stored_key, stored_value
from wenji.hashing import ip_hash

if TYPE_CHECKING:  # authentication imports this module while DRF's views are being loaded
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

_LOCAL_BUCKETS = LocMemCache("wenji-throttle-fallback", {"MAX_ENTRIES": 100_000})
_fallback = threading.Event()  # set while limits are kept locally


def _cache_down(exc: Exception) -> None:
    if not _fallback.is_set():
        _fallback.set()
        logger.warning(
            "rate limits: the shared cache is unreachable (%s); keeping limits in "
            "this process until it is back",
            exc.__class__.__name__,
        )


def _cache_up() -> None:
    if _fallback.is_set():
        _fallback.clear()
        logger.warning("rate limits: the shared cache is back")


def _on_buckets(call: Callable[[Any], Any]) -> Any:
    """``call(cache)`` on the shared cache, or on this process's buckets while it is down."""
    try:
        result = call(cache)
    except (RedisError, OSError) as exc:
        _cache_down(exc)
        return call(_LOCAL_BUCKETS)
    _cache_up()
    return result


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# GCRA (the generic cell rate algorithm) in one Redis round trip: the key holds the
# "theoretical arrival time" (microseconds, Redis's own clock, so every app server agrees).
# A request is allowed when it is no further ahead than the burst allows; a refused one
# changes nothing. Returns 0 (allowed) or the microseconds to wait. ``_GCRA_TAKE`` is the
# algorithm on the bucket ``bucket`` with ``interval`` and ``tolerance``, setting ``wait``.
_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
"""
_GCRA_TAKE = (
    _NOW
    + """
local wait = 0
local tat = tonumber(redis.call('GET', bucket) or now)
if tat < now then tat = now end
wait = tat - tolerance - now
if wait > 0 then
  wait = math.ceil(wait)
else
  wait = 0
  local after = tat + interval
  redis.call('SET', bucket, string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1)
end
"""
)
_GCRA_LUA = (
    "local bucket, interval, tolerance = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])"
    + _GCRA_TAKE
    + "return wait"
)
# An address's wrong tokens and a token's cache entry read (``TokenFailures.exceeded_reading``),
# and, with a third key, that bucket taken as by ``_GCRA_LUA``, only if the token is remembered
# and the address not over its limit (a request about to be refused takes nothing). Returns
# the two values read and the microseconds to wait, -1 when the bucket was not taken.
_READ_AND_TAKE_LUA = (
    """
local found = redis.call('MGET', KEYS[1], KEYS[2])
if #KEYS < 3 or not found[2] or (tonumber(found[1]) or 0) >= tonumber(ARGV[1]) then
  return {found[1], found[2], -1}
end
local bucket, interval, tolerance = KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3])
"""
    + _GCRA_TAKE
    + "return {found[1], found[2], wait}"
)
# A taken request given back (its bucket's time moved back by one interval, never before now):
# for a request that took its bucket with its token but is refused before the rate limit.
_GIVE_BACK_LUA = (
    """
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
"""
    + _NOW
    + """
local back = tat - tonumber(ARGV[1])
if back <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.0f', back), 'PX', math.ceil((back - now) / 1000) + 1)
end
return 0
"""
)
_local_lock = threading.Lock()


def _gcra_local(buckets: Any, key: str, interval: float, tolerance: float) -> float:
    """The same algorithm on a Django cache (this process's memory, or a cache without
    scripts): seconds to wait, 0 when allowed."""
    with _local_lock:
        now = time.time() * 1_000_000
        tat = max(buckets.get(key) or now, now)
        wait = tat - tolerance - now
        if wait > 0:
            return wait / 1_000_000
        after = tat + interval
        buckets.set(key, after, math.ceil((after - now) / 1_000_000) + 1)
        return 0.0


RATE_TAKEN = "wenji_rate_taken"  # the request's attribute holding its ``RateTaken``


def rate_taken(request: Request) -> RateTaken | None:
    """What ``request`` took with its token, if anything (read without DRF's fallback to the
    Django request, which would raise and catch twice when there is none)."""
    return request.__dict__.get(RATE_TAKEN)


@dataclass(frozen=True)
class RateTaken:
    """A user's bucket as a request takes it with its token's read (``RateTakenWithToken``):
    the throttle's key, the user it was taken for, GCRA's interval and tolerance, and the
    seconds to wait (0: allowed and taken; ``None``: not taken yet)."""

    key: str
    user_pk: Any
    interval: float
    tolerance: float
    wait: float | None = None


class _SettingsRateThrottle(BaseThrottle):
    """``count/period`` per client, read from a setting on every request, as GCRA: a burst of
    up to ``count`` at once, then one request every ``period / count``; a client refused is
    told exactly when the next one would pass (``Retry-After``). One Redis round trip (a
    script), where a request log (DRF's ``SimpleRateThrottle``) took two and stored every
    timestamp of the period."""

    scope: str = ""
    setting: str = ""
    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self) -> None:
        self.wait_seconds = 0.0

    def allow_request(self, request: Request, view: APIView) -> bool:
        key = self.get_cache_key(request, view)
        taken = rate_taken(request)
        if taken is not None and taken.key == key:  # taken with the token (RateTakenWithToken)
            self.wait_seconds = taken.wait
            return self.wait_seconds <= 0
        interval, tolerance = self.rate()
        try:
            self.wait_seconds = self._shared(key, interval, tolerance)
        except (RedisError, OSError) as exc:
            _cache_down(exc)
            self.wait_seconds = _gcra_local(_LOCAL_BUCKETS, key, interval, tolerance)
        else:
            _cache_up()
        return self.wait_seconds <= 0

    def rate(self) -> tuple[float, float]:
        """GCRA's interval and burst tolerance, in microseconds, from the setting as it is now."""
        count, unit = getattr(settings, self.setting).split("/")
        period = _UNITS[unit[0]] * 1_000_000
        interval = period / int(count)
        return interval, period - interval

    def to_take(self, user_pk: Any) -> RateTaken:
        """What a request of this user would take (its wait not known yet)."""
        interval, tolerance = self.rate()
        return RateTaken(self._key(f"user:{user_pk}"), user_pk, interval, tolerance)

    @staticmethod
    def _shared(key: str, interval: float, tolerance: float) -> float:
        stored = stored_key(cache, key)
        script = redis_script(cache, stored, _GCRA_LUA)
        if script is None:  # not Redis (a laptop's memory cache): no scripts
            return _gcra_local(cache, key, interval, tolerance)
        return int(script(keys=[stored], args=[interval, tolerance])) / 1_000_000

    def wait(self) -> float | None:
        return self.wait_seconds or None

    def get_cache_key(self, request: Request, view: APIView) -> str:
        user = request.user
        if user is not None and user.is_authenticated:
            return self._key(f"user:{user.pk}")
        return self._key(f"ip:{ip_hash(client_ip(request))}")

    def _key(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SubmitThrottle(_SettingsRateThrottle):
    """Submissions per collector (``settings.SUBMIT_RATE_LIMIT``)."""

    scope = "submit"
    setting = "SUBMIT_RATE_LIMIT"


class DefinitionThrottle(_SettingsRateThrottle):
    """Definition reads per user or per hashed IP (``settings.DEFINITION_RATE_LIMIT``)."""

    scope = "definition"
    setting = "DEFINITION_RATE_LIMIT"


def client_ip(request: Request) -> str | None:
    """The client's address as the throttles see it: with ``REST_FRAMEWORK['NUM_PROXIES']``
    at 0 (the default), X-Forwarded-For is ignored, so a client cannot pick its own bucket."""
    return BaseThrottle().get_ident(request) or None


class TokenFailures:
    """Wrong API tokens from one (hashed) address in the current window."""

    def __init__(self, request: Request) -> None:
        self.key = f"throttle_token_failures_{ip_hash(client_ip(request))}"
        count, unit = settings.API_TOKEN_FAILURE_LIMIT.split("/")
        self.limit = int(count)
        self.window = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit]

    def exceeded(self) -> bool:
        return (_on_buckets(lambda buckets: buckets.get(self.key)) or 0) >= self.limit

    def exceeded_reading(
        self, other_key: str, take: RateTaken | None = None
    ) -> tuple[bool, Any, RateTaken | None]:
        """``exceeded()``, and the shared cache's value of ``other_key`` read in the same
        round trip (``None`` while the cache is down). With ``take``, and a Redis cache: that
        bucket is taken in the same round trip too, if ``other_key`` holds a value and the
        address is not over its limit; then ``take`` comes back with its wait, else ``None``."""

        def read(buckets: Any) -> tuple[Any, Any, RateTaken | None]:
            if buckets is _LOCAL_BUCKETS:
                return buckets.get(self.key), None, None
            if take is not None:
                keys = [stored_key(buckets, key) for key in (self.key, other_key, take.key)]
                script = redis_script(buckets, keys[0], _READ_AND_TAKE_LUA)
                if script is not None:
                    count, value, wait = script(
                        keys=keys, args=[self.limit, take.interval, take.tolerance]
                    )
                    taken = None if int(wait) < 0 else replace(take, wait=int(wait) / 1_000_000)
                    return (
                        None if count is None else stored_value(buckets, count),
                        None if value is None else stored_value(buckets, value),
                        taken,
                    )
            found = buckets.get_many([self.key, other_key])
            return found.get(self.key), found.get(other_key), None

        count, value, taken = _on_buckets(read)
        return (count or 0) >= self.limit, value, taken

    def record(self) -> None:
        def add_one(buckets: Any) -> None:
            buckets.add(self.key, 0, self.window)  # the window starts with the first failure
            try:
                buckets.incr(self.key)
            except ValueError:  # expired between the two calls
                buckets.set(self.key, 1, self.window)

        _on_buckets(add_one)


def give_back(request: Request) -> None:
    """Undo what ``request`` took with its token (its ``RateTaken``), if it took anything: for
    a request refused before its rate limit would have been checked, which takes nothing."""
    taken = request.__dict__.pop(RATE_TAKEN, None)
    if taken is None or taken.wait:  # nothing taken, or refused (a refusal takes nothing)
        return
    try:
        stored = stored_key(cache, taken.key)
        script = redis_script(cache, stored, _GIVE_BACK_LUA)
        if script is not None:
            script(keys=[stored], args=[taken.interval])
    except (RedisError, OSError) as exc:
        _cache_down(exc)


class RateTakenWithToken:
    """A view whose rate limit ``token_rate`` (a throttle class of this module, also in its
    ``throttle_classes``) is taken in the round trip that reads the token's cache entry and
    the address's wrong tokens (``TokenRolesAuthentication``), where it took a round trip of
    its own: for the submissions, the API's hot path. Taken only when this process has seen
    the token before (so knows its user) and the token is remembered in Redis; checked after
    the permissions as ever; given back if the permissions refuse the request, or if the
    token turns out to belong to another user than the one this process remembered."""

    token_rate: type[_SettingsRateThrottle]

    def permission_denied(self, request: Request, *args: Any, **kwargs: Any) -> None:
        give_back(request)
        super().permission_denied(request, *args, **kwargs)  # type: ignore[misc]
