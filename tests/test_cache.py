"""wenji.cache.RedisCache: Django's Redis cache, with one client per pool."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.conf import settings

from wenji.cache import RedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def cache():
    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"wenji-test-{uuid.uuid4().hex}"})
    yield cache
    cache.clear()


def test_the_cache_reuses_one_client_and_behaves_as_djangos(cache):
    assert cache.add("a", 1, 30) is True
    assert cache.add("a", 2, 30) is False
    assert cache.incr("a") == 2
    cache.set("b", {"x": [1, 2]}, 30)
    assert cache.get_many(["a", "b", "c"]) == {"a": 2, "b": {"x": [1, 2]}}
    cache.delete("a")
    assert cache.get("a", "gone") == "gone"
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert client.connection_pool is cache._cache._get_connection_pool(write=True)


def test_one_shared_client_counts_exactly_from_many_threads(cache):
    cache.set("n", 0, 60)

    def bump() -> None:
        for _ in range(50):
            cache.incr("n")

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("n") == 400
