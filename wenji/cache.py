"""Django's Redis cache with one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache call, and
each one fills a table of some 170 response callbacks: 0.25 ms a call, three calls (the rate
limit's read and write, the new-data debounce) on every submission. A client is thread-safe
(each command takes a connection from the pool), so one per pool is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends import redis as django_redis


class ReusedClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id() of its pool

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # Django's choice of server, pools kept for good
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with reused clients (module docstring)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient


def redis_script(django_cache: Any, key: str, lua: str) -> Callable[..., Any] | None:
    """A Lua script registered on the Redis server that holds ``key`` in ``django_cache``,
    called as ``script(keys=[…], args=[…])``; ``None`` when that cache is not Redis (a
    laptop's memory cache). Keys given to the script must be the cache's own (``stored_key``).
    The script is registered once per client: later calls send only its SHA1."""
    client_of = getattr(getattr(django_cache, "_cache", None), "get_client", None)
    if client_of is None:
        return None
    client = client_of(key, write=True)
    script = _scripts.get((id(client), lua))
    if script is None:
        script = _scripts[(id(client), lua)] = client.register_script(lua)
    return script


def stored_key(django_cache: Any, key: str) -> str:
    """``key`` as the cache stores it (prefix and version), for scripts that touch it."""
    return django_cache.make_and_validate_key(key)


_scripts: dict[tuple[int, str], Any] = {}  # by id() of the client and the script's text


def stored_value(django_cache: Any, raw: bytes) -> Any:
    """A value read from Redis by a script, as ``django_cache.get`` would have returned it
    (Django's serializer: integers as they are, anything else pickled)."""
    return django_cache._cache._serializer.loads(raw)
