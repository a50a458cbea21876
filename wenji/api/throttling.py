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
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

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


class _SettingsRateThrottle(SimpleRateThrottle):
    setting: str = ""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            allowed = super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            _cache_down(exc)
            self.cache = _LOCAL_BUCKETS
            return super().allow_request(request, view)
        _cache_up()
        return allowed

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

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

    def record(self) -> None:
        def add_one(buckets: Any) -> None:
            buckets.add(self.key, 0, self.window)  # the window starts with the first failure
            try:
                buckets.incr(self.key)
            except ValueError:  # expired between the two calls
                buckets.set(self.key, 1, self.window)

        _on_buckets(add_one)
