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
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from wenji.cache import redis_script, stored_key
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
# changes nothing. Returns 0 (allowed) or the microseconds to wait.
_GCRA_LUA = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait) end
local after = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1)
return 0
"""
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
        count, unit = getattr(settings, self.setting).split("/")
        period = _UNITS[unit[0]] * 1_000_000
        interval = period / int(count)
        tolerance = period - interval
        key = self.get_cache_key(request, view)
        try:
            self.wait_seconds = self._shared(key, interval, tolerance)
        except (RedisError, OSError) as exc:
            _cache_down(exc)
            self.wait_seconds = _gcra_local(_LOCAL_BUCKETS, key, interval, tolerance)
        else:
            _cache_up()
        return self.wait_seconds <= 0

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
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{ip_hash(client_ip(request))}"
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

    def exceeded_reading(self, other_key: str) -> tuple[bool, Any]:
        """``exceeded()``, and the shared cache's value of ``other_key`` read in the same
        round trip (``None`` while the cache is down)."""

        def read(buckets: Any) -> tuple[Any, Any]:
            if buckets is _LOCAL_BUCKETS:
                return buckets.get(self.key), None
            found = buckets.get_many([self.key, other_key])
            return found.get(self.key), found.get(other_key)

        count, value = _on_buckets(read)
        return (count or 0) >= self.limit, value

    def record(self) -> None:
        def add_one(buckets: Any) -> None:
            buckets.add(self.key, 0, self.window)  # the window starts with the first failure
            try:
                buckets.incr(self.key)
            except ValueError:  # expired between the two calls
                buckets.set(self.key, 1, self.window)

        _on_buckets(add_one)
