"""oauth_cc.redis_cache: Django's Redis backend with reused clients and a one-trip incr.

Against a real Redis (REDIS_URL, as in the PostgreSQL + Redis run), with a key prefix of its
own; the rest of the suite uses this backend too when REDIS_URL is set.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from oauth_cc.redis_cache import RedisCache

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                                reason="needs Redis (REDIS_URL)")


@pytest.fixture
def backend() -> Iterator[RedisCache]:
    cache = RedisCache(os.environ.get("REDIS_URL", ""),
                       {"KEY_PREFIX": f"oauth_cc_redis_cache_test_{uuid.uuid4().hex}"})
    yield cache
    raw = cache._cache.get_client(write=True)
    keys = list(raw.scan_iter(match=f"{cache.key_prefix}:*"))
    if keys:
        raw.delete(*keys)
    for pool in cache._cache._pools.values():
        pool.disconnect()


class CommandCounter:
    """Counts the commands a redis-py client sends (each is one round trip here)."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[str] = []
        execute = client.execute_command

        def counting(*args: Any, **options: Any) -> Any:
            self.commands.append(str(args[0]))
            return execute(*args, **options)

        monkeypatch.setattr(client, "execute_command", counting)


def test_it_is_djangos_backend_for_everything_else(backend):
    assert isinstance(backend, DjangoRedisCache)
    assert backend.add("k", {"a": 1}, 30)
    assert not backend.add("k", "other", 30)
    assert backend.get("k") == {"a": 1}
    backend.set_many({"x": 1, "y": "two"}, 30)
    assert backend.get_many(["x", "y", "missing"]) == {"x": 1, "y": "two"}
    assert backend.delete("k") and backend.get("k") is None


def test_one_client_serves_every_operation(backend):
    """Django's backend makes a new redis.Redis for each operation."""
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client() is client
    assert backend._cache.get_client("some key", write=True) is client


def test_each_server_has_its_own_client():
    """With replicas (LOCATION lists several servers), writes go to the first and reads to
    the others, each through its own pool: one client per pool."""
    url = os.environ.get("REDIS_URL", "")
    cache = RedisCache(f"{url},{url}", {})
    try:
        writer, reader = cache._cache.get_client(write=True), cache._cache.get_client()
        assert writer is not reader
        assert writer.connection_pool is not reader.connection_pool
        assert cache._cache.get_client(write=True) is writer
        assert cache._cache.get_client() is reader
    finally:
        for pool in cache._cache._pools.values():
            pool.disconnect()


def test_incr_and_decr_are_one_round_trip_and_keep_the_expiry(backend, monkeypatch):
    backend.set("counter", 5, 300)
    raw = backend._cache.get_client(write=True)
    backend.incr("counter")  # the first call loads the script
    counter = CommandCounter(raw, monkeypatch)
    assert backend.incr("counter", 10) == 16
    assert backend.decr("counter", 3) == 13
    assert counter.commands == ["EVALSHA", "EVALSHA"]
    assert backend.get("counter") == 13
    assert 0 < raw.ttl(backend.make_key("counter")) <= 300


def test_incr_of_a_missing_key_raises_and_creates_nothing(backend):
    """As Django's incr does; unlike it, a key that expires meanwhile cannot come back as a
    counter without expiry, since the test and the increment are one atomic script."""
    with pytest.raises(ValueError, match="not found"):
        backend.incr("never-set")
    with pytest.raises(ValueError, match="not found"):
        backend.decr("never-set")
    assert not backend._cache.get_client().exists(backend.make_key("never-set"))


def test_incr_of_a_value_that_is_no_integer_fails_as_with_django(backend):
    import redis

    backend.set("text", "not a number", 30)
    with pytest.raises(redis.ResponseError):
        backend.incr("text")


def test_incr_survives_a_script_flush(backend):
    """The script is run by its hash: after SCRIPT FLUSH (or on a failed-over server that
    never saw it) it is loaded again."""
    backend.set("counter", 1, 30)
    assert backend.incr("counter") == 2
    backend._cache.get_client(write=True).script_flush()
    assert backend.incr("counter") == 3


def test_concurrent_increments_are_all_counted(backend):
    backend.set("counter", 0, 60)

    def add_many() -> None:
        for _ in range(50):
            backend.incr("counter")

    threads = [threading.Thread(target=add_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert backend.get("counter") == 400
