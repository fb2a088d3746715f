"""Brute-force protection of client authentication (RFC 6749 §2.3.1), in Django's cache.

Failures are counted per (client id, address) and per address for
``AUTH_FAILURE_WINDOW_SECONDS`` from the first failure. Past ``AUTH_FAILURES_PER_CLIENT`` or
``AUTH_FAILURES_PER_ADDRESS`` the next attempt from there is refused with 429 before its
secret is checked, until the window passes. The same client from another address is not
affected, so an attacker cannot lock a client out everywhere.

Across processes the counts are only as shared as the cache: use a shared cache (Redis,
Memcached) when several processes serve the token endpoint (system check W002).
"""

from __future__ import annotations

import hashlib
import math

from django.core.cache import cache
from django.http import HttpRequest

from oauth_cc import clock
from oauth_cc.exceptions import TooManyAttempts
from oauth_cc.settings import oauth_cc_settings

PREFIX = "oauth_cc:authfail:"


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry appended by the
    outermost of ``TRUSTED_PROXIES`` trusted proxies."""
    hops = int(oauth_cc_settings.TRUSTED_PROXIES)
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if hops <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    return forwarded[-hops] if len(forwarded) >= hops else remote


def _keys(client_id: str, address: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"{client_id}\0{address}".encode()).hexdigest()[:32]
    return PREFIX + "c:" + digest, PREFIX + "a:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def check(client_id: str, address: str) -> None:
    """Raise ``TooManyAttempts`` if this client id or this address is blocked right now.

    One cache read of the two failure counts; the window's start is read only for a count
    that has reached its limit (a blocked attempt is the rare case).
    """
    limits = {key: limit for key, limit in zip(
        _keys(client_id, address), (int(oauth_cc_settings.AUTH_FAILURES_PER_CLIENT),
                                    int(oauth_cc_settings.AUTH_FAILURES_PER_ADDRESS)),
        strict=True) if limit > 0}
    counts = cache.get_many([f"{key}:count" for key in limits])
    window = float(oauth_cc_settings.AUTH_FAILURE_WINDOW_SECONDS)
    now = clock.now()
    for key, limit in limits.items():
        if int(counts.get(f"{key}:count", 0)) < limit:
            continue
        start = cache.get(f"{key}:start")
        if start is not None and now < start + window:
            raise TooManyAttempts(math.ceil(start + window - now))


def record_failure(client_id: str, address: str) -> None:
    """Count one failed authentication of ``client_id`` from ``address``."""
    window = float(oauth_cc_settings.AUTH_FAILURE_WINDOW_SECONDS)
    timeout = math.ceil(window) + 1
    now = clock.now()
    for key in _keys(client_id, address):
        start = cache.get(f"{key}:start")
        if start is None or now >= start + window:
            # A new window. Two processes starting one at once may each count from 1:
            # the limit is then reached one failure later, never bypassed.
            cache.set_many({f"{key}:start": now, f"{key}:count": 0}, timeout)
        try:
            cache.incr(f"{key}:count")
        except ValueError:  # evicted meanwhile
            cache.set(f"{key}:count", 1, timeout)
