"""``Client.last_used_at``, written at most once a minute per client and process.

A write per token request would double the token endpoint's database work for a column
operators read in minutes, so each process remembers when it last wrote.
"""

from __future__ import annotations

import threading

from oauth_cc import clock, process_cache

INTERVAL_SECONDS = 60
_written: dict[int, float] = {}
_lock = threading.Lock()


def touch(client_pk: int) -> None:
    now = clock.monotonic()
    with _lock:
        last = _written.get(client_pk)
        if last is not None and now - last < INTERVAL_SECONDS:
            return
        if len(_written) > 100_000:
            _written.clear()
        _written[client_pk] = now
    from oauth_cc.models import Client

    Client.objects.filter(pk=client_pk).update(last_used_at=clock.now_datetime())


process_cache.register(_written.clear)
