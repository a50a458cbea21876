"""Rate limits for the endpoints anyone can reach or that write.

Buckets live in the Django cache (Redis in production, per-process memory on a laptop). The
bucket of a signed-in client is its user; of an anonymous one, the keyed hash of its IP
address (``ip_hash``), so raw addresses never become cache keys. Rates are read from settings
on every request, so they can be changed in tests and by environment.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from wenji.hashing import ip_hash


class _SettingsRateThrottle(SimpleRateThrottle):
    setting: str = ""

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
