"""The token endpoint and the DPoP replay check on Redis: Django's ``RedisCache`` against
``oauth_cc.redis_cache.RedisCache``, in turns, round by round, in one process.

    make bench-redis          (REDIS_URL, default redis://127.0.0.1:6379/15)
    python -m benchmarks.redis_cache [--quick] --json PATH

Figures, each per call on the one Redis:
- ``ping``: one round trip on a reused redis-py client, the floor of any cache operation;
- ``throttle``: what a successful token request asks of the cache (``throttle.attempt``:
  one ``get_many``, one ``incr``, one ``decr``);
- ``replay``: what a DPoP proof or client assertion asks (``replay.first_use``: one ``add``);
- ``token``: a whole ``POST /oauth/token`` through the WSGI handler, beside the raw RS256 sign.

``make bench`` keeps every process on the local-memory cache (the demo's default), so this is
the only place Redis is measured. The two backends share one connection pool size and server;
the demo's default cache is switched between them for each figure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks import harness

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
BACKENDS = {"django": "django.core.cache.backends.redis.RedisCache",
            "oauth_cc": "oauth_cc.redis_cache.RedisCache"}


def main() -> None:
    args = harness.arguments(__doc__)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    harness.setup_django("demo_project.settings", "oauth_cc_redis")
    import redis
    from django.core.cache import caches
    from django.core.handlers.wsgi import WSGIHandler
    from django.utils.module_loading import import_string

    from oauth_cc import replay, throttle
    from oauth_cc.models import Client, Scope

    url = os.environ["REDIS_URL"]
    prefix = f"oauth_cc_bench_{secrets.token_hex(4)}"
    backends = {name: import_string(path)(url, {"KEY_PREFIX": prefix})
                for name, path in BACKENDS.items()}

    @contextmanager
    def default_cache(name: str) -> Iterator[None]:
        # Django keeps each thread's cache objects in caches._connections: set the default
        # one to this backend for the block.
        previous = caches["default"]
        caches._connections.default = backends[name]
        try:
            yield
        finally:
            caches._connections.default = previous

    def on(name: str, fn: Callable[[], Any]) -> Callable[[], None]:
        def call() -> None:
            with default_cache(name):
                fn()
        return call

    Scope.objects.get_or_create(name="address")
    client, secret = Client.objects.create_client(f"bench redis {secrets.token_hex(4)}",
                                                  scopes=["address"])
    token = harness.token_request(WSGIHandler(), client.client_id, secret)
    raw = redis.Redis.from_url(url)
    jtis = iter(range(10**9))

    def attempt() -> None:
        with throttle.attempt(client.client_id, "127.0.0.1"):
            pass

    def first_use() -> None:
        assert replay.first_use("oauth_cc:bench:", "key", str(next(jtis)), 60)

    fns: dict[str, Callable[[], Any]] = {"ping": raw.ping}
    for name in BACKENDS:
        fns.update({f"throttle_{name}": on(name, attempt), f"replay_{name}": on(name, first_use),
                    f"token_{name}": on(name, token)})
    for fn in fns.values():  # warm: pools connected, scripts loaded, the client's state read
        for _ in range(20):
            fn()
    fns["raw_sign"] = harness.rs256_reference()["raw_sign"]
    medians, rounds = harness.interleaved_us(fns, seconds=2.0 if args.quick else 8.0)
    results: dict[str, Any] = {"machine": harness.machine(),
                               **{f"{name}_us": value for name, value in medians.items()}}
    for figure in ("throttle", "replay", "token"):
        results[f"{figure}_speedup"] = harness.median_ratio(rounds, f"{figure}_django",
                                                            f"{figure}_oauth_cc")
    for name in BACKENDS:
        results[f"token_{name}_per_sign"] = harness.median_ratio(rounds, "raw_sign",
                                                                 f"token_{name}")
        results[f"throttle_{name}_per_ping"] = harness.median_ratio(rounds, f"throttle_{name}",
                                                                    "ping")
    harness.write_json(args.json, results)

    print(f"REDIS ({url}), {results['machine']}; one round trip (PING) "
          f"{medians['ping']:.0f} µs, raw RS256 sign {medians['raw_sign']:.0f} µs")
    print(f"  {'':34s} {'Django RedisCache':>18s} {'oauth_cc RedisCache':>20s} {'speed-up':>9s}")
    for figure, label in [("throttle", "token request's cache work, µs"),
                          ("replay", "replay check (one add), µs"),
                          ("token", "POST /oauth/token, µs")]:
        print(f"  {label:34s} {medians[f'{figure}_django']:18.0f} "
              f"{medians[f'{figure}_oauth_cc']:20.0f} {results[f'{figure}_speedup']:8.2f}x")
    print(f"  {'token endpoint, x raw sign rate':34s} {results['token_django_per_sign']:18.2f} "
          f"{results['token_oauth_cc_per_sign']:20.2f}")
    keys = list(raw.scan_iter(match=f"{prefix}:*"))
    if keys:
        raw.delete(*keys)


if __name__ == "__main__":
    main()
