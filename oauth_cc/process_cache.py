"""In-process caches (key objects, the active key, client state) and one switch to drop them.

Each cache registers its ``clear`` here. They are dropped when oauth_cc's settings change, and
test suites drop them between tests so that no key or client survives a rolled-back database.
"""

from __future__ import annotations

from collections.abc import Callable

_clearers: list[Callable[[], None]] = []


def register(clear: Callable[[], None]) -> Callable[[], None]:
    _clearers.append(clear)
    return clear


def clear_all() -> None:
    for clear in _clearers:
        clear()
