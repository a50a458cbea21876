"""Which Celery workers are alive, for ``/readyz``.

Each worker marks itself every ``WORKER_ALIVE_SECONDS`` under a Redis key of its own that
expires after three periods (``config.celery.WorkerAlive``), and clears it when it stops. A
worker killed outright leaves a key that expires: ``/readyz`` notices within three periods.
Reading is one SCAN over a handful of keys; nothing goes through the broker's queues.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ALIVE_PREFIX = "wenji:worker-alive:"


def redis_client() -> redis.Redis:
    """A client of ``REDIS_URL`` that gives up within a second (the caller closes it)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def worker_alive_mark(name: str) -> None:
    """Say that worker ``name`` is alive for the next three periods."""
    client = redis_client()
    try:
        client.set(ALIVE_PREFIX + name, str(time.time()), ex=3 * settings.WORKER_ALIVE_SECONDS)
    except (RedisError, OSError) as exc:
        logger.warning("worker heartbeat: Redis did not answer (%s)", exc.__class__.__name__)
    finally:
        client.close()


def worker_alive_clear(name: str) -> None:
    client = redis_client()
    try:
        client.delete(ALIVE_PREFIX + name)
    except (RedisError, OSError):
        pass  # the key expires by itself
    finally:
        client.close()


def workers_alive(client: redis.Redis) -> int | None:
    """How many workers marked themselves alive lately (None: Redis did not answer)."""
    try:
        return sum(1 for _key in client.scan_iter(match=ALIVE_PREFIX + "*", count=100))
    except (RedisError, OSError):
        return None
