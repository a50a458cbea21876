"""Rate limits for the endpoints anyone can reach or that write.

Buckets live in the Django cache (Redis in production, per-process memory on a laptop). The
bucket of a signed-in client is its user; of an anonymous one, the keyed hash of its IP
address (``ip_hash``), so raw addresses never become cache keys. Rates are read from settings
on every request, so they can be changed in tests and by environment.

While the shared cache is unreachable, limits are kept in this process's memory instead
(per process, so looser by the number of processes): collecting goes on through a Redis
outage. The switch is logged once when it happens and once when the cache is back.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from wenji.hashing import ip_hash

logger = logging.getLogger(__name__)

_LOCAL_BUCKETS = LocMemCache("wenji-throttle-fallback", {"MAX_ENTRIES": 100_000})
_fallback = threading.Event()  # set while limits are kept locally


class _SettingsRateThrottle(SimpleRateThrottle):
    setting: str = ""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            allowed = super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            if not _fallback.is_set():
                _fallback.set()
                logger.warning(
                    "rate limits: the shared cache is unreachable (%s); keeping limits in "
                    "this process until it is back",
                    exc.__class__.__name__,
                )
            self.cache = _LOCAL_BUCKETS
            return super().allow_request(request, view)
        if _fallback.is_set():
            _fallback.clear()
            logger.warning("rate limits: the shared cache is back")
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
