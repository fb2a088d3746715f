"""The only source of time in oauth_cc. Tests freeze it with ``frozen()``.

``now()`` is the wall clock, for what other machines see: token claims, database times, the
brute-force windows shared through the cache. ``monotonic()`` is for what a process times on
its own (how old a cache is): a wall clock stepped back by an hour would otherwise keep a
cache, and the disabled clients in it, for an hour.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], float] = time.time
_GRID = 1024  # steps per second of a frozen monotonic clock
_monotonic_source: Callable[[], float] = time.monotonic


def now() -> float:
    """Seconds since the epoch, from the current clock."""
    return _source()


def monotonic() -> float:
    """Seconds on a clock that never steps back, only for measuring intervals."""
    return _monotonic_source()


def now_datetime() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.fromtimestamp(_source(), tz=UTC)


class FrozenClock:
    """A clock that stands still until moved.

    ``advance()`` lets time pass (both clocks move); ``set()`` steps the wall clock only, as
    an operator or NTP stepping it would, and leaves the monotonic clock where it is.
    """

    def __init__(self, at: float) -> None:
        self.at = float(at)
        # The monotonic clock, frozen where the real one stands, so that what a process timed
        # before the freeze keeps its age. Rounded up to a 1/1024 s grid, on which adding and
        # subtracting whole seconds (or halves, quarters...) is exact: a test that advances
        # exactly JWKS_MIN_REFETCH_SECONDS must see exactly that much time pass.
        self.elapsed = math.ceil(time.monotonic() * _GRID) / _GRID

    def __call__(self) -> float:
        return self.at

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.at += seconds
        self.elapsed += seconds

    def set(self, at: float) -> None:
        self.at = float(at)


@contextmanager
def frozen(at: float | datetime | None = None) -> Iterator[FrozenClock]:
    """Freeze oauth_cc's clock at ``at`` (default: now) for the duration of the block."""
    global _source, _monotonic_source
    if isinstance(at, datetime):
        at = at.timestamp()
    clock = FrozenClock(time.time() if at is None else at)
    previous = _source, _monotonic_source
    _source, _monotonic_source = clock, clock.monotonic
    try:
        yield clock
    finally:
        _source, _monotonic_source = previous
