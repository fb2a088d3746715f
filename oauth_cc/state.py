"""What a worker knows of its clients and of revoked tokens, and the check a token must pass.

A genuine token is refused when its client is disabled or gone, its project is disabled or
gone, or its ``jti`` was revoked. Asking the database on every request would cost a query per
API call, so each worker keeps:

- ``clients``: a ``ClientRecord`` per client id it has seen (the token endpoint and
  verification read the same one), all re-read together every ``STATE_TTL_SECONDS`` in one
  query per 500 clients;
- ``revocations``: the ``jti`` of every live revoked token, read once, then every
  ``STATE_TTL_SECONDS`` only the revocations made since the last read (with an overlap for the
  clocks of other workers), so a reload costs what is new, not what is live. Each is kept until
  its token expires, and never dropped before.

A change made in this process applies at once (``signals``); one made elsewhere within
``STATE_TTL_SECONDS``. Both are ``TTLMap``s: ``cache.py`` has the rules.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from oauth_cc import clock, process_cache
from oauth_cc.cache import TTLMap
from oauth_cc.exceptions import InvalidToken, UnknownProject
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import VerifiedToken

if TYPE_CHECKING:
    from oauth_cc.models import ClientRecord

BATCH = 500
# A revocation committed by another worker carries that worker's clock in revoked_at: each
# incremental reload reads back this far before the last one, so that a clock behind ours, or
# a commit slower than the reload, is not missed. Re-reading costs a minute of revocations.
REVOCATION_OVERLAP_SECONDS = 60.0
# Expired revocations are dropped from memory this often (they are refused by expiry anyway).
PURGE_INTERVAL_SECONDS = 60.0


def _state_ttl() -> float:
    return oauth_cc_settings.STATE_TTL_SECONDS


class ClientCache:
    """``ClientRecord``s by client id, re-read together every ``STATE_TTL_SECONDS``."""

    limit = 50_000  # clients remembered per worker; the least recently used goes first

    def __init__(self) -> None:
        self.records: TTLMap[str, ClientRecord] = TTLMap(ttl=_state_ttl, limit=self.limit)

    def get(self, client_id: str, *, remember_missing: bool) -> ClientRecord | None:
        """The client's record, or None if there is no such client.

        ``remember_missing`` keeps a "no such client" answer too: right for ids from verified
        tokens (a deleted client's tokens keep coming), wrong for ids from requests, which
        anyone can make up by the million.
        """
        self.records.refresh_if_due(self._reload, every=_state_ttl())
        return self.records.get_or_load(client_id, _read_one, remember_missing=remember_missing)

    def forget(self, client_id: str) -> None:
        """Re-read this client on its next use (it changed in this process)."""
        self.records.discard(client_id)

    def forget_project(self, project_id: int) -> None:
        self.records.discard_where(lambda _, record: record.project_id == project_id)

    def clear(self) -> None:
        self.records.clear()

    def _reload(self) -> None:
        from oauth_cc.models import Client

        known = self.records.keys()
        generation = self.records.generation
        for start in range(0, len(known), BATCH):
            batch = known[start:start + BATCH]
            found = Client.objects.records(batch)
            for client_id in batch:
                record = found.get(client_id)
                if record is not None:
                    self.records.put(client_id, record, generation=generation)
                else:  # deleted since: it was known, so its tokens may still come
                    self.records.put_missing(client_id, generation=generation)


def _read_one(client_id: str) -> ClientRecord | None:
    from oauth_cc.models import Client

    return Client.objects.record(client_id)


class RevocationList:
    """The ``jti`` of revoked tokens that could still be accepted, read incrementally."""

    def __init__(self) -> None:
        # No limit: forgetting a revocation early would accept a revoked token.
        self.revoked: TTLMap[str, bool] = TTLMap(ttl=lambda: math.inf, limit=None)
        # revoked_at covered by the reads so far, and the map's generation then: a map that
        # was cleared since (settings changed, tests) is read whole again.
        self._read_until: tuple[int, datetime] | None = None
        self._purged_at = -math.inf

    def is_revoked(self, jti: str) -> bool:
        self.revoked.refresh_if_due(self._reload, every=_state_ttl())
        return jti in self.revoked

    def add(self, jti: str, expires_at: float) -> None:
        """A token was revoked in this process: refuse it from now on, until it expires."""
        self.revoked.put(jti, True, expires_at=self._until(expires_at))

    def clear(self) -> None:
        self.revoked.clear()
        self._read_until = None
        self._purged_at = -math.inf

    def _until(self, expires_at: float) -> float:
        """Monotonic time at which a token expiring at ``expires_at`` (epoch) cannot be
        accepted any more, even with the leeway."""
        remaining = expires_at + oauth_cc_settings.LEEWAY_SECONDS - clock.now()
        return clock.monotonic() + remaining

    def _reload(self) -> None:
        from oauth_cc.models import RevokedToken

        started = clock.now_datetime()
        rows = RevokedToken.objects.live()
        if self._read_until is not None and self._read_until[0] == self.revoked.generation:
            rows = rows.filter(revoked_at__gte=self._read_until[1]
                               - timedelta(seconds=REVOCATION_OVERLAP_SECONDS))
        for jti, expires_at in rows.values_list("jti", "expires_at"):
            self.revoked.put(jti, True, expires_at=self._until(expires_at.timestamp()))
        if clock.monotonic() - self._purged_at >= PURGE_INTERVAL_SECONDS:
            # A walk over every entry: not on each reload, where it would cost what the
            # incremental read saves.
            self.revoked.purge_expired()
            self._purged_at = clock.monotonic()
        self._read_until = (self.revoked.generation, started)


clients = ClientCache()
revocations = RevocationList()
process_cache.register(revocations.clear)  # its read marks go with its map


def check(token: VerifiedToken) -> None:
    """Raise ``InvalidToken`` or ``UnknownProject`` if the token's client may not use it."""
    record = clients.get(token.client_id, remember_missing=True)
    if revocations.is_revoked(token.jti):
        raise InvalidToken("The token has been revoked.")
    if record is None:
        raise UnknownProject("The token's client or project no longer exists.")
    if str(record.project_id) != token.project_id:
        # The client was moved to another project: the token's project is not its own.
        raise UnknownProject("The token's client no longer belongs to its project.")
    if not record.is_active:
        raise InvalidToken("The token's client is disabled.")
    if not record.project_is_active:
        raise InvalidToken("The token's project is disabled.")


def forget_client(client_id: str) -> None:
    """A client changed in this process: re-read it on its next token or API request."""
    clients.forget(client_id)


def forget_project(project_id: int) -> None:
    clients.forget_project(project_id)

