import logging

import redis
from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from redis.exceptions import RedisError

from wenji.workers import redis_client, workers_alive

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok"}`` when the database answers, else 503 ``{"status": "unavailable"}``.

    For load balancers and the docker-compose healthcheck; served by HealthCheckMiddleware.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("healthz: the database did not answer")
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every service this instance needs answers, else 503, with each one's state:
    ``{"status": "ok", "checks": {"database": "ok", "redis": "ok", "worker": "ok"},
    "workers": 2}``. Without ``REDIS_URL`` jobs run in the web process, so ``redis`` and
    ``worker`` are ``not configured``; ``worker`` is ``unavailable`` when no Celery worker
    marked itself alive lately (``wenji.workers``). For load balancers that should stop
    routing here; ``/healthz`` stays a liveness check (the process and its database)."""
    checks = {"database": _database_state(), "redis": "not configured", "worker": "not configured"}
    workers = None
    if settings.REDIS_URL:
        client = redis_client()  # one connection for both: Redis answers, workers marked
        try:
            checks["redis"] = _redis_state(client)
            workers = workers_alive(client) if checks["redis"] == "ok" else None
        finally:
            client.close()
        checks["worker"] = "ok" if workers else "unavailable"
    ready = all(state in ("ok", "not configured") for state in checks.values())
    body: dict = {"status": "ok" if ready else "unavailable", "checks": checks}
    if workers is not None:
        body["workers"] = workers
    return JsonResponse(body, status=200 if ready else 503)


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("readyz: the database did not answer")
        return "unavailable"
    return "ok"


def _redis_state(client: redis.Redis) -> str:
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        logger.warning("readyz: Redis did not answer (%s)", exc.__class__.__name__)
        return "unavailable"
    return "ok"
