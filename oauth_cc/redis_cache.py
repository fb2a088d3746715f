"""Django's Redis cache backend, with the two costs oauth_cc pays on every request removed.

oauth_cc keeps its shared counts (brute-force limits, token quotas) and its replay records
(client assertions, DPoP proofs) in Django's default cache: a token request makes three cache
operations, a DPoP request one. With Django's ``RedisCache`` each of them costs more than it
must:

- its client makes a new ``redis.Redis`` for every operation (tens of µs of Python each,
  before any network). Here each connection pool gets one client, reused: redis-py clients are
  thread-safe, as each command takes a connection from the pool and gives it back;
- its ``incr`` and ``decr`` ask whether the key exists, then increment: two round trips, and a
  key that expires between them comes back as a counter that never expires. Here one Lua
  script does both, atomically, in one round trip.

Everything else (options, key functions, serialisation, timeouts) is Django's. Use it in
place of Django's backend (needs the ``redis`` extra)::

    CACHES = {"default": {"BACKEND": "oauth_cc.redis_cache.RedisCache",
                          "LOCATION": "redis://127.0.0.1:6379/0"}}
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends import redis as django_redis

# Increment KEYS[1] by ARGV[1] if it exists; nil (None in Python) if it does not.
_INCR_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class RedisCacheClient(django_redis.RedisCacheClient):
    """Django's Redis client with one ``redis.Redis`` per connection pool, and an atomic
    one-round-trip ``incr``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id() of their pool, which lives as long
        self._lock = threading.Lock()
        self._incr_script: Any = None

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # _get_connection_pool() and _client (the redis.Redis class) are the parent's, the
        # same from Django 4.0 to 6.0 though not in its stubs; test_redis_cache checks them.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            with self._lock:
                client = self._clients.get(id(pool))
                if client is None:
                    client = self._clients[id(pool)] = \
                        self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def incr(self, key: Any, delta: int) -> int:
        client = self.get_client(key, write=True)
        if self._incr_script is None:
            # A Script runs by its SHA-1 (EVALSHA) and loads itself again after a SCRIPT
            # FLUSH or on a new server; made once, as it hashes its text.
            self._incr_script = client.register_script(_INCR_IF_EXISTS)
        value = self._incr_script(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")  # as Django's incr says it
        return int(value)


class RedisCache(django_redis.RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` on ``RedisCacheClient``."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
