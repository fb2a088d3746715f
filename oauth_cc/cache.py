"""What a worker remembers: one bounded map with expiring entries, on the monotonic clock.

Every in-process cache of oauth_cc is a ``TTLMap`` (the signing keys, the clients, the
revocations, the verified tokens), so one rule says how stale anything can be:

- An entry is used until its own expiry and never after: ``ttl`` seconds after it was stored,
  or the time it was stored with (a token's ``exp``). Expiry is measured on
  ``clock.monotonic()``, so a wall clock stepped back keeps nothing longer.
- A change made in this process removes what it affects at once (``discard``,
  ``discard_where``, ``clear``; see ``signals``), and a value read before such a change is
  not stored: loads (``get_or_load``) and periodic reloads (``refresh_if_due``) run under the
  map's lock, which removals take too, and every removal bumps a generation, so that ``put``
  can drop a value read elsewhere under an older one.
- A load or a periodic reload is double-checked: of the threads that find it needed, one runs
  it and the others use its result rather than run it again.
- A map with a ``limit`` evicts its least recently used entry when full, so a flood of
  distinct keys costs memory once, not without bound. A map whose entries must never be
  forgotten early (revocations) has no limit and drops entries only when they expire.

``process_cache.clear_all()`` empties every map (settings changed, or between tests).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar, cast

from oauth_cc import clock, process_cache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_NOT_HELD = object()  # no fresh entry for the key
_ABSENT = object()  # a fresh entry saying "there is none" (a remembered miss)


class TTLMap(Generic[K, V]):
    """A thread-safe map whose entries expire; see the module docstring for the rules.

    Reads take no lock: a hit is a dict lookup, a clock read and an LRU touch.
    """

    def __init__(self, *, ttl: Callable[[], float], limit: int | None) -> None:
        #: Seconds an entry stored without its own expiry stays usable (read on each store,
        #: so that a settings change applies).
        self.ttl = ttl
        self.limit = limit
        self._entries: OrderedDict[K, tuple[object, float]] = OrderedDict()
        self._lock = threading.RLock()
        self._generation = 0
        self._refreshed_at = -math.inf
        process_cache.register(self.clear)

    # Reading

    def get(self, key: K, default: V | None = None) -> V | None:
        """The fresh value stored for ``key``, else ``default`` (also for a remembered miss)."""
        value = self._fresh(key)
        return default if value is _NOT_HELD or value is _ABSENT else value  # type: ignore[return-value]

    def get_or_load(self, key: K, load: Callable[[K], V | None], *,
                    remember_missing: bool, guard: bool = True) -> V | None:
        """The fresh value for ``key``, else ``load(key)``, stored.

        Double-checked: the load runs under the map's lock after a second look, so threads
        that miss together load once, and a removal (which takes the lock) cannot interleave
        with it. ``load`` returning None means "there is none". With ``remember_missing`` that
        answer is kept like a value (for keys that come from verified tokens, which an
        attacker cannot mint at will); without it nothing is kept, so guessed keys cannot fill
        the map. ``guard=False`` keeps the value even if a removal happened during the load
        (one the load itself caused, say), where its ``ttl`` bounds staleness well enough.
        """
        value = self._fresh(key)
        if value is _NOT_HELD:
            with self._lock:
                value = self._fresh(key)
                if value is _NOT_HELD:
                    generation = self._generation if guard else None
                    loaded = load(key)
                    if loaded is not None:
                        self._store(key, loaded, None, generation)
                    elif remember_missing:
                        self._store(key, _ABSENT, None, generation)
                    return loaded
        return None if value is _ABSENT else value  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        """True for a fresh entry, a remembered miss included."""
        entry = self._entries.get(cast(K, key))
        return entry is not None and clock.monotonic() < entry[1]

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[K]:
        """A snapshot of the keys held, fresh or not."""
        with self._lock:
            return [key for key, _ in self._snapshot()]

    def items(self) -> Iterator[tuple[K, V]]:
        """A snapshot of the fresh entries."""
        now = clock.monotonic()
        with self._lock:
            entries = self._snapshot()
        for key, (value, expires) in entries:
            if now < expires and value is not _ABSENT:
                yield key, value  # type: ignore[misc]

    @property
    def generation(self) -> int:
        """Changes on every removal: read it before a load, pass it to ``put``."""
        return self._generation

    # Writing

    def put(self, key: K, value: V, *, expires_at: float | None = None,
            generation: int | None = None) -> None:
        """Store ``value`` until ``expires_at`` (monotonic; default: ``ttl`` from now).

        With ``generation``, a value read before a later removal is dropped instead.
        """
        self._store(key, value, expires_at, generation)

    def put_missing(self, key: K, *, expires_at: float | None = None,
                    generation: int | None = None) -> None:
        """Remember that there is no value for ``key`` (``get`` answers its default)."""
        self._store(key, _ABSENT, expires_at, generation)

    def _store(self, key: K, value: object, expires_at: float | None,
               generation: int | None) -> None:
        if expires_at is None:
            expires_at = clock.monotonic() + float(self.ttl())
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            entries = self._entries
            if key in entries:
                entries.move_to_end(key)
            elif self.limit is not None:
                while len(entries) >= self.limit:
                    entries.popitem(last=False)
            entries[key] = (value, expires_at)

    def discard(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._generation += 1

    def discard_where(self, predicate: Callable[[K, V], bool]) -> None:
        """Remove every entry (remembered misses aside) for which ``predicate`` holds."""
        with self._lock:
            doomed = [key for key, (value, _) in self._snapshot()
                      if value is not _ABSENT and predicate(key, value)]  # type: ignore[arg-type]
            for key in doomed:
                self._entries.pop(key, None)
            self._generation += 1

    def purge_expired(self) -> None:
        now = clock.monotonic()
        with self._lock:
            for key in [k for k, (_, expires) in self._snapshot() if now >= expires]:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1
            self._refreshed_at = -math.inf

    def refresh_if_due(self, refresh: Callable[[], None], *, every: float) -> None:
        """Run ``refresh`` if ``every`` seconds passed since it last ran (or it never did).

        Double-checked under the map's lock: of the threads that find it due, one runs it and
        the others, once it is done, see that it is no longer due. An exception from
        ``refresh`` propagates and leaves it due.
        """
        if clock.monotonic() - self._refreshed_at < every:
            return
        with self._lock:
            if clock.monotonic() - self._refreshed_at < every:
                return
            started = clock.monotonic()
            refresh()
            self._refreshed_at = started

    # Internals

    def _snapshot(self) -> list[tuple[K, tuple[object, float]]]:
        """The entries, copied. Readers move what they read to the end without the lock (an
        LRU touch), which would break a Python loop over the map itself; even this copy, one
        C call, can be interrupted: its allocations may run the garbage collector, whose
        finalizers are Python code and let other threads run. A copy that saw the order change
        raises ``RuntimeError`` and starts over; a touch only reorders, so the next copy holds
        the same entries."""
        while True:
            try:
                return list(self._entries.items())
            except RuntimeError:  # "OrderedDict mutated during iteration"
                continue

    def _fresh(self, key: K) -> object:
        entry = self._entries.get(key)
        if entry is None or clock.monotonic() >= entry[1]:
            return _NOT_HELD
        if self.limit is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs more on this hot path
                self._entries.move_to_end(key)
            except KeyError:  # removed by another thread meanwhile
                pass
        return entry[0]
