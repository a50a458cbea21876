from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.utils.html import escape
from django.utils.translation import gettext as _

from config.views import healthz, readyz
from wenji.csp import content_security_policy
from wenji.text import unstorable

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` on every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response


class HealthCheckMiddleware:
    """Answer ``/healthz`` (liveness) and ``/readyz`` (readiness) before host validation and the
    HTTPS redirect.

    Container and load-balancer probes call the app by its internal address over plain HTTP
    (docker-compose: ``http://127.0.0.1:8000/healthz``): a host that is not in ALLOWED_HOSTS
    and a scheme SECURE_SSL_REDIRECT would bounce. Only this one path skips those checks; the
    answer reveals nothing but whether the database is reachable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTHZ_PATH:
            return healthz(request)
        if request.path_info == READYZ_PATH:
            return readyz(request)
        return self.get_response(request)


class UnstorableTextMiddleware:
    """Refuse, with a 400 naming the place, a request whose path or query string holds text no
    column can hold (``wenji.text``): slugs and filters reach queries before any form or
    serializer sees them. Bodies are checked where they are validated, with their own error
    codes: DRF's and Django's CharFields refuse NUL and surrogates, the answers validator and
    the definition validator check every text they hold. After LocaleMiddleware, so the
    message is in the client's language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        place = self._place(request)
        if place is None:
            return self.get_response(request)
        message = _("Text with a NUL character or an unpaired surrogate cannot be stored.")
        if request.path_info.startswith("/api/"):
            body = {"error": "invalid", "message": message, "fields": {place: [message]}}
            return JsonResponse(body, status=400)
        return HttpResponseBadRequest(f"{escape(place)}: {escape(message)}")

    @staticmethod
    def _place(request: HttpRequest) -> str | None:
        if unstorable(request.path_info):
            return "path"
        for key, values in request.GET.lists():
            if unstorable(key) or any(unstorable(value) for value in values):
                return key
        return None


COMPRESSIBLE = {"application/javascript", "application/json", "image/svg+xml"}


class StaticGZipMiddleware(GZipMiddleware):
    """Gzip the static files that WhiteNoise serves straight from the apps' folders when
    ``collectstatic`` has not run (``python3 -m wenji up``: DEBUG, no compressed copies), so a
    phone gets the form's script and style compressed there too. In production WhiteNoise
    serves its own compressed copies (Content-Encoding already set: left alone). Placed just
    before WhiteNoiseMiddleware; pages are not touched (the form's views gzip themselves)."""

    def process_request(self, request: HttpRequest) -> None:
        # the ETag sent back is the weak one this middleware made of WhiteNoise's: give
        # WhiteNoise its own again, so an unchanged file is a 304
        tag = request.META.get("HTTP_IF_NONE_MATCH", "")
        if tag.startswith("W/") and request.path.startswith(settings.STATIC_URL):
            request.META["HTTP_IF_NONE_MATCH"] = tag.removeprefix("W/")

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not request.path.startswith(settings.STATIC_URL):
            return response
        kind = response.get("Content-Type", "").split(";")[0]
        if not kind.startswith("text/") and kind not in COMPRESSIBLE:
            return response  # pictures and fonts are compressed already
        return super().process_response(request, response)
