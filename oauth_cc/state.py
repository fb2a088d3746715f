"""Client state, cached in-process: for verification (disabled, deleted, revoked) and for
client authentication at the token endpoint (``ClientRecords``).

A genuine token is refused when its client is disabled or gone, its project is disabled or
gone, or its ``jti`` was revoked. Asking the database on every request would cost a query
per API call, so each worker keeps what it learnt and re-reads it all every
``STATE_TTL_SECONDS`` (one query for the clients it has seen, one for the live revocations);
a change made in this process applies at once (``signals``). A client's first token in a
worker costs one query; after that, requests cost none.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oauth_cc import clock, process_cache
from oauth_cc.exceptions import InvalidToken, UnknownProject
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import VerifiedToken

if TYPE_CHECKING:
    from oauth_cc.models import ClientRecord

BATCH = 500


@dataclass(frozen=True)
class ClientState:
    exists: bool
    active: bool = False
    project_active: bool = False
    project_id: int | None = None


GONE = ClientState(exists=False)


class ClientStates:
    limit = 50_000  # clients remembered per worker before starting afresh

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._states: dict[str, ClientState] = {}
        self._revoked: frozenset[str] = frozenset()  # as of the last reload
        # Revoked in this process, by jti, until the token's exp: kept apart so that a reload
        # which read the denylist just before the revocation committed does not drop it.
        self._revoked_here: dict[str, float] = {}
        self._loaded_at = -math.inf
        # Bumped by every forget: a client read that began before it is not stored.
        self._generation = 0

    def clear(self) -> None:
        with self._lock:
            self._states = {}
            self._revoked = frozenset()
            self._revoked_here = {}
            self._loaded_at = -math.inf
            self._generation += 1

    def revoked(self, jti: str, expires_at: float) -> None:
        """A token was revoked in this process: refuse it from now on."""
        with self._lock:
            self._revoked_here[jti] = expires_at

    def forget(self, client_id: str) -> None:
        """Re-read this client on its next request (it changed in this process)."""
        with self._lock:
            self._states.pop(client_id, None)
            self._generation += 1

    def forget_project(self, project_id: int) -> None:
        with self._lock:
            for client_id in [c for c, s in self._states.items() if s.project_id == project_id]:
                self._states.pop(client_id, None)
            self._generation += 1

    def check(self, token: VerifiedToken) -> None:
        """Raise ``InvalidToken`` or ``UnknownProject`` if the token's client may not use it."""
        state = self.state_of(token.client_id)
        if token.jti in self._revoked or token.jti in self._revoked_here:
            raise InvalidToken("The token has been revoked.")
        if not state.exists:
            raise UnknownProject("The token's client or project no longer exists.")
        if str(state.project_id) != token.project_id:
            # The client was moved to another project: the token's project is not its own.
            raise UnknownProject("The token's client no longer belongs to its project.")
        if not state.active:
            raise InvalidToken("The token's client is disabled.")
        if not state.project_active:
            raise InvalidToken("The token's project is disabled.")

    def state_of(self, client_id: str) -> ClientState:
        if clock.monotonic() - self._loaded_at >= oauth_cc_settings.STATE_TTL_SECONDS:
            self._reload()
        state = self._states.get(client_id)
        if state is None:
            generation = self._generation
            state = self._read([client_id]).get(client_id, GONE)
            with self._lock:
                if generation == self._generation:  # else it may predate a change: read again
                    if len(self._states) >= self.limit:
                        self._states = {}
                    self._states[client_id] = state
        return state

    def _reload(self) -> None:
        """Re-read every known client and the live revocations: one query each."""
        from oauth_cc.models import RevokedToken

        with self._lock:
            if clock.monotonic() - self._loaded_at < oauth_cc_settings.STATE_TTL_SECONDS:
                return  # another thread just did
            self._revoked = frozenset(RevokedToken.objects.live().values_list("jti", flat=True))
            expired = clock.now() - float(oauth_cc_settings.LEEWAY_SECONDS)
            self._revoked_here = {jti: exp for jti, exp in self._revoked_here.items()
                                  if exp > expired}
            known = list(self._states)
            fresh: dict[str, ClientState] = {}
            for start in range(0, len(known), BATCH):
                fresh.update(self._read(known[start:start + BATCH]))
            self._states = {client_id: fresh.get(client_id, GONE) for client_id in known}
            self._loaded_at = clock.monotonic()

    @staticmethod
    def _read(client_ids: list[str]) -> dict[str, ClientState]:
        from oauth_cc.models import Client

        rows = Client.objects.filter(client_id__in=client_ids).values_list(
            "client_id", "is_active", "project__is_active", "project_id")
        return {cid: ClientState(True, active, project_active, project_id)
                for cid, active, project_active, project_id in rows}


client_states = ClientStates()
process_cache.register(client_states.clear)


class ClientRecords:
    """What the token endpoint knows of a client (``ClientRecord``), read at most every
    ``STATE_TTL_SECONDS`` per client and worker.

    A warm token request then makes no query. A change made in this process applies at once
    (``signals``); one made elsewhere (a regenerated secret, a disabled client, new scopes)
    within ``STATE_TTL_SECONDS``, the same bound as for tokens. Unknown ids are not cached,
    so a new client works at once everywhere and guesses cannot fill the cache.
    """

    limit = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[ClientRecord, float]] = {}
        self._generation = 0  # as in ClientStates

    def clear(self) -> None:
        with self._lock:
            self._records = {}
            self._generation += 1

    def forget(self, client_id: str) -> None:
        with self._lock:
            self._records.pop(client_id, None)
            self._generation += 1

    def forget_project(self, project_id: int) -> None:
        with self._lock:
            self._records = {c: entry for c, entry in self._records.items()
                             if entry[0].project_id != project_id}
            self._generation += 1

    def get(self, client_id: str) -> ClientRecord | None:
        entry = self._records.get(client_id)
        now = clock.monotonic()
        if entry is not None and now - entry[1] < oauth_cc_settings.STATE_TTL_SECONDS:
            return entry[0]
        from oauth_cc.models import Client

        generation = self._generation
        record = Client.objects.record(client_id)
        with self._lock:
            if record is None or generation != self._generation:
                self._records.pop(client_id, None)
            else:
                if len(self._records) >= self.limit:
                    self._records = {}
                self._records[client_id] = (record, now)
        return record


client_records = ClientRecords()
process_cache.register(client_records.clear)


def forget_client(client_id: str) -> None:
    """A client changed in this process: re-read it on its next token or API request."""
    client_states.forget(client_id)
    client_records.forget(client_id)


def forget_project(project_id: int) -> None:
    client_states.forget_project(project_id)
    client_records.forget_project(project_id)
