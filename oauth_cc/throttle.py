"""Brute-force protection of client authentication (RFC 6749 §2.3.1), in Django's cache.

Three limits, each counted over ``AUTH_FAILURE_WINDOW_SECONDS`` from its window's first failure
(0 turns a limit off):

- ``AUTH_FAILURES_PER_CLIENT``: failures of one client id from one address;
- ``AUTH_FAILURES_PER_ADDRESS``: failures from one address, whatever the client id;
- ``AUTH_FAILURES_PER_CLIENT_TOTAL``: failures of one client id from all addresses together,
  so that many addresses cannot share one client's budget. Past it the client id is refused
  from every address until the window passes: an attacker with enough addresses can lock a
  client out for a window. That is the accepted price, kept small by a high limit (1000) and
  by system check E015, which keeps the total above what one address may fail on its own.

Past a limit, attempts are refused with 429 before their secret is checked. The same client
from another address is not affected by the first two limits.

The first limit is exact however many attempts arrive at once: an attempt takes a slot in it
(one atomic ``incr`` on Redis, Memcached or the local-memory cache) before its secret is
checked and decides on the count that ``incr`` returns; a failure keeps its slot, a success
gives it back. So at most ``AUTH_FAILURES_PER_CLIENT`` guesses at one client's secret are
checked per window from one address. The two volume limits are read before and counted after
the check, so attempts already under way when one fills may still be checked: they bound how
much guessing one address, or all addresses at one client, can do, and do not need to be
exact. That keeps a successful request at three cache operations (an ``incr`` and a ``decr``
of its own counter, one ``get_many`` of the other two).

Across processes the counts are only as shared as the cache: use a shared cache (Redis,
Memcached) when several processes serve the token endpoint (system check W002).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import re
import time
from contextlib import suppress
from typing import NamedTuple

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.http import HttpRequest

from oauth_cc import clock
from oauth_cc.exceptions import TooManyAttempts
from oauth_cc.settings import oauth_cc_settings

PREFIX = "oauth_cc:authfail2:"  # 2: the exact limit's counter holds failures and slots
# The exact limit's counter holds failures * FAILURE + slots taken by attempts being checked,
# so that one atomic incr both takes a slot and tells the failures so far. The volume limits'
# counters hold failures.
FAILURE = 1 << 20
# While attempts being checked hold every slot of the exact limit (not failures: successes are
# not refused), wait for one to be given back, up to about 0.6 s in all, then refuse.
CONTENTION_WAITS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
# [v6], [v6]:port or v4:port; anything else is parsed as a bare address.
_HOST_PORT = re.compile(r"\[(?P<v6>[^\]]*)\](?::[0-9]{1,5})?|(?P<v4>[0-9.]+):[0-9]{1,5}")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_address(value: str) -> IPAddress | None:
    """The IP address in ``value`` (an address, ``v4:port``, ``[v6]`` or ``[v6]:port``), an
    IPv4-mapped IPv6 address as IPv4 and without an IPv6 zone, or None when there is none.

    IPv4 with leading zeros (``01.2.3.4``, octal to some parsers) is None: ``ipaddress``
    refuses what different parsers would read as different addresses.
    """
    text = value.strip()
    match = _HOST_PORT.fullmatch(text)
    if match:
        text = match.group("v6") if match.group("v6") is not None else match.group("v4")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return ip.ipv4_mapped or ipaddress.IPv6Address(int(ip))
    return ip


def client_address(request: HttpRequest) -> str:
    """The client's address, normalised (``_parse_address``): ``REMOTE_ADDR``, or the
    ``X-Forwarded-For`` entry appended by the outermost of ``TRUSTED_PROXIES`` trusted proxies.

    A forwarded entry that is no address counts as the nearest proxy's own address: a string
    an attacker makes up must never be a fresh bucket.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    chosen = remote
    hops = oauth_cc_settings.TRUSTED_PROXIES
    if hops > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            chosen = forwarded[-hops]
    return _normalised(chosen) or _normalised(remote) or remote


@functools.lru_cache(maxsize=1024)  # a pure function; the same few addresses come again
def _normalised(value: str) -> str | None:
    ip = _parse_address(value)
    return str(ip) if ip is not None else None


def _bucket(address: str) -> str:
    """What an address's failures count against: the address, or its /64 for IPv6, since one
    host is usually given a whole /64 (RFC 7421) and could rotate through it."""
    if ":" not in address:
        return address  # IPv4, as client_address() writes it: nothing to group
    ip = _parse_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip) if ip is not None else address


class _Limit(NamedTuple):  # a tuple: three are made per token request
    key: str  # the counter; its window's start (a timestamp) is at key + ":start"
    limit: int

    @property
    def start_key(self) -> str:
        return self.key + ":start"


def _limits(client_id: str, address: str) -> tuple[_Limit | None, list[_Limit]]:
    """The exact limit (this client id from this address) and the volume limits that apply;
    a limit set to 0 is off."""
    bucket = _bucket(address)
    settings = oauth_cc_settings
    exact = _Limit(_key("c", client_id, bucket), settings.AUTH_FAILURES_PER_CLIENT)
    volume = [_Limit(_key("a", bucket), settings.AUTH_FAILURES_PER_ADDRESS),
              _Limit(_key("t", client_id), settings.AUTH_FAILURES_PER_CLIENT_TOTAL)]
    return (exact if exact.limit > 0 else None), [limit for limit in volume if limit.limit > 0]


@functools.lru_cache(maxsize=4096)  # a pure function, called three times per request
def _key(kind: str, *parts: str) -> str:
    # surrogatepass: any str, a lone surrogate included, has one encoding and one key.
    text = "\0".join(parts).encode("utf-8", "surrogatepass")
    return PREFIX + kind + ":" + hashlib.sha256(text).hexdigest()[:32]


def _split(value: int) -> tuple[int, int]:
    """``(failures, slots)`` of a counter, rounded to the nearest FAILURE: a slot given back
    after its window was replaced can leave the slots at -1, which must not read as a
    failure less and FAILURE - 1 slots."""
    failures, slots = divmod(value + FAILURE // 2, FAILURE)
    return failures, slots - FAILURE // 2


def shared_cache() -> BaseCache:
    """Django's default cache, where the counts live. Each function below takes it from its
    caller, so that an attempt looks it up once: the ``cache`` proxy would look it up again
    (a context-local lookup) for every operation."""
    return caches[DEFAULT_CACHE_ALIAS]


class Attempt:
    """One check of a client's credentials, holding its slot while the ``with`` block runs
    (``attempt()``). Set ``failed`` if the credentials were wrong.

    A class rather than a generator-based context manager: it is entered on every token
    request."""

    __slots__ = ("_address", "_client_id", "_exact", "_held", "_store", "_volume", "_window",
                 "failed")

    def __init__(self, client_id: str, address: str) -> None:
        self._client_id, self._address = client_id, address
        self.failed = False
        self._held = False

    def __enter__(self) -> Attempt:
        self._window = window = oauth_cc_settings.AUTH_FAILURE_WINDOW_SECONDS
        if window <= 0:
            return self
        self._exact, self._volume = exact, volume = _limits(self._client_id, self._address)
        self._store = store = shared_cache()
        _check_volume(store, volume, window)
        self._held = exact is not None and _take_slot(store, exact, window)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._window <= 0:
            return
        if self.failed:
            _fail(self._store, self._exact if self._held else None, self._volume,
                  self._window)
        elif self._held:
            _give_back(self._store, self._exact)  # type: ignore[arg-type]


def attempt(client_id: str, address: str) -> Attempt:
    """Let one check of ``client_id``'s credentials from ``address`` go ahead, or refuse it:
    ``with attempt(client_id, address) as outcome: ...``.

    Raises ``TooManyAttempts`` (before anything is checked) when a limit's failures fill it,
    or when attempts being checked still hold every slot of the exact limit after a short
    wait. On leaving the block a failure (``outcome.failed`` set) is counted in every limit;
    a success, or an error that left the credentials unchecked, costs nothing.
    """
    return Attempt(client_id, address)


def check(client_id: str, address: str) -> None:
    """Raise ``TooManyAttempts`` if an attempt would be refused now; counts nothing."""
    with attempt(client_id, address):
        pass


def _check_volume(store: BaseCache, limits: list[_Limit], window: float) -> None:
    """Raise ``TooManyAttempts`` if the failures of one of these limits fill it (one read)."""
    if not limits:
        return
    counts = store.get_many([limit.key for limit in limits])
    for limit in limits:
        if int(counts.get(limit.key, 0)) >= limit.limit:
            _refuse_if_open(store, limit, window)


def _refuse_if_open(store: BaseCache, limit: _Limit, window: float) -> None:
    """``limit`` is full: raise ``TooManyAttempts`` unless its window is over by our clock
    (the cache's may differ, or a test froze ours), in which case its failures are dropped."""
    now = clock.now()
    start = store.get(limit.start_key)
    if start is None:
        # Failures whose start is not written yet, or was evicted: the window runs from now,
        # and so does the counter's expiry.
        start = now
        store.set(limit.start_key, now, _timeout(window))
        store.touch(limit.key, _timeout(window))
    elif now >= start + window:
        store.delete(limit.key)
        return
    raise TooManyAttempts(math.ceil(start + window - now))


def _take_slot(store: BaseCache, limit: _Limit, window: float) -> bool:
    """Take a slot in the exact limit, waiting briefly while attempts being checked hold them
    all (successes are not refused for being many at once). Returns True once taken; raises
    ``TooManyAttempts`` when failures fill the limit, or the wait is over."""
    for wait in (*CONTENTION_WAITS, None):
        failures, slots = _split(_incr_or_open(store, limit, window))
        if failures + max(slots, 1) <= limit.limit:
            return True
        _give_back(store, limit)
        if failures >= limit.limit:
            _refuse_if_open(store, limit, window)
            return _take_slot(store, limit, window)  # the window was over: its failures are gone
        if wait is None:
            raise TooManyAttempts(1, "Too many client authentications at once. Try again.")
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _incr_or_open(store: BaseCache, limit: _Limit, window: float) -> int:
    """Add one to ``limit``'s counter (a slot, or a volume limit's failure), opening a window
    if none is open; return the new count."""
    return count(limit.key, _timeout(window), store)


def count(key: str, timeout: int, store: BaseCache | None = None) -> int:
    """Add one to the shared counter ``key`` (in ``store``, default ``shared_cache()``),
    creating it to live ``timeout`` seconds if there is none; return the new count. Atomic on
    every cache Django ships (``incr``, ``add``)."""
    store = store or shared_cache()
    try:
        return int(store.incr(key))
    except ValueError:  # none yet (incr never creates one): create it, unless another just did
        if store.add(key, 1, timeout):
            return 1
        return int(store.incr(key))


def uncount(key: str, store: BaseCache | None = None) -> None:
    """Take one off the shared counter ``key`` (nothing if it expired meanwhile)."""
    with suppress(ValueError):
        (store or shared_cache()).decr(key)


def _fail(store: BaseCache, exact: _Limit | None, volume: list[_Limit], window: float) -> None:
    """Count a failure: the exact limit's slot becomes one, the volume limits each add one.
    The first failure of a window starts it: its counter lives a whole window from now."""
    now = clock.now()
    counted: list[tuple[_Limit, int]] = []
    if exact is not None:
        with suppress(ValueError):  # the window closed meanwhile: the failure goes uncounted
            counted.append((exact, _split(store.incr(exact.key, FAILURE - 1))[0]))
    counted.extend((limit, _incr_or_open(store, limit, window)) for limit in volume)
    for limit, failures in counted:
        if failures == 1:
            store.set(limit.start_key, now, _timeout(window))
            store.touch(limit.key, _timeout(window))


def _give_back(store: BaseCache, limit: _Limit) -> None:
    # Django's Redis incr checks that the key exists, then increments: if it expires in
    # between, the counter comes back without expiry until a failure gives it one
    # (oauth_cc.redis_cache's incr does both in one atomic script).
    uncount(limit.key, store)  # nothing if the window closed meanwhile


def _timeout(window: float) -> int:
    return max(1, math.ceil(window))
