"""``Client.last_used_at``, written at most once a minute per client and process.

A write per token request would double the token endpoint's database work for a column
operators read in minutes, so each process remembers when it last wrote.
"""

from __future__ import annotations

from oauth_cc import clock
from oauth_cc.cache import TTLMap

INTERVAL_SECONDS = 60
_written: TTLMap[int, bool] = TTLMap(ttl=lambda: INTERVAL_SECONDS, limit=100_000)


def touch(client_pk: int) -> None:
    if client_pk in _written:
        return
    # Two threads may both get here and both write: harmless, and cheaper than a lock.
    _written.put(client_pk, True)
    from oauth_cc.models import Client

    Client.objects.filter(pk=client_pk).update(last_used_at=clock.now_datetime())
