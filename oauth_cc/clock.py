"""The only source of time in oauth_cc. Tests freeze it with ``frozen()``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch, from the current clock."""
    return _source()


def now_datetime() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.fromtimestamp(_source(), tz=UTC)


class FrozenClock:
    """A clock that stands still until moved with ``advance()`` or ``set()``."""

    def __init__(self, at: float) -> None:
        self.at = float(at)

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds

    def set(self, at: float) -> None:
        self.at = float(at)


@contextmanager
def frozen(at: float | datetime | None = None) -> Iterator[FrozenClock]:
    """Freeze oauth_cc's clock at ``at`` (default: now) for the duration of the block."""
    global _source
    if isinstance(at, datetime):
        at = at.timestamp()
    clock = FrozenClock(time.time() if at is None else at)
    previous, _source = _source, clock
    try:
        yield clock
    finally:
        _source = previous
