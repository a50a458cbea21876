from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.views import healthz

HEALTHZ_PATH = "/healthz"


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` on every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = "; ".join(
            f"{directive} {' '.join(sources)}"
            for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response


class HealthCheckMiddleware:
    """Answer ``/healthz`` before host validation and the HTTPS redirect.

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
        return self.get_response(request)
