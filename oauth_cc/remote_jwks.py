"""Remote mode: verification keys from the issuer's JWK Set at ``JWKS_URL``.

For services that do not share the issuer's database. ``jwks_fetch`` does the fetching: within
``JWKS_FETCH_TIMEOUT`` in all, no redirects, at most 1 MiB. The set is cached for its
``Cache-Control: max-age`` (bounded to [JWKS_MIN_REFETCH_SECONDS, 1 day]); an unknown ``kid``
refetches at most once per ``JWKS_MIN_REFETCH_SECONDS``. A failed fetch keeps the last good
set, and so does one that finds no usable key: an issuer never means to stop every token at
once, and a broken deployment of it could look just like that. Both are logged.

One thread fetches at a time. Others go on with the keys they have, except those that need the
answer (no keys yet, or an unknown ``kid``, as after a rotation): they wait for it, for at most
``JWKS_FETCH_TIMEOUT``.

Remote mode has no database: it cannot see disabled clients or revoked tokens before they
expire. Use the issuer's introspection endpoint where that matters.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from oauth_cc import clock, process_cache
from oauth_cc.jwks_fetch import JWKSFetchError, PublicJWK, fetch_jwks
from oauth_cc.keys import VerificationKey
from oauth_cc.settings import oauth_cc_settings

logger = logging.getLogger("oauth_cc")

MAX_DOCUMENT_BYTES = 1_048_576
MAX_CACHE_SECONDS = 86_400


def usable_keys(jwks: Iterable[PublicJWK]) -> dict[str, VerificationKey]:
    """The keys that can verify our tokens, by kid: those with a ``kid`` and an ``alg`` from
    ``ALLOWED_ALGORITHMS`` that fits the key. A token never chooses the algorithm: its key does.
    """
    allowed = set(oauth_cc_settings.ALLOWED_ALGORITHMS)
    found: dict[str, VerificationKey] = {}
    for jwk in jwks:
        if jwk.kid is None or jwk.alg is None or jwk.alg not in allowed:
            continue
        key = VerificationKey(jwk.kid, jwk.alg, jwk.key)
        try:
            key.verify  # noqa: B018 - made now, so that a misfit is skipped: "RS256" on an EC key
        except ValueError:
            logger.warning("Skipping key %r: it is not a key for %s.", jwk.kid, jwk.alg)
            continue
        found[jwk.kid] = key
    return found


@dataclass(frozen=True)
class _Cache:
    """What is known of the set at ``url``. Replaced whole, never changed in place, so that a
    thread reading it without the lock sees one consistent state."""

    url: str | None = None
    keys: Mapping[str, VerificationKey] = field(default_factory=dict)
    expires_at: float = -math.inf  # on the monotonic clock, as the next one
    attempted_at: float = -math.inf  # the last fetch, whether it failed or not


class RemoteJWKS:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # held by the thread that is fetching
        self._cache = _Cache()

    def clear(self) -> None:
        self._cache = _Cache()

    def verification_key(self, kid: str) -> VerificationKey | None:
        url = oauth_cc_settings.JWKS_URL or ""
        cache = self._cache
        if cache.url != url:
            # Nothing known of another URL applies. A fetch for it still under way may store
            # its answer after this; the next call finds that URL wrong again and drops it.
            cache = self._cache = _Cache(url)
        if clock.monotonic() >= cache.expires_at:
            cache = self._refresh(url, wait=not cache.keys)
        key = cache.keys.get(kid)
        if key is None:
            # After a rotation the issuer signs with a key we may not have fetched yet.
            key = self._refresh(url, wait=True).keys.get(kid)
        return key

    def _refresh(self, url: str, *, wait: bool) -> _Cache:
        """The cache after a fetch, unless one was made less than JWKS_MIN_REFETCH_SECONDS
        ago. If another thread is fetching, returns the cache at once, or with ``wait`` when
        that fetch is over, or after JWKS_FETCH_TIMEOUT (the time a fetch may take), whichever
        comes first."""
        timeout = oauth_cc_settings.JWKS_FETCH_TIMEOUT
        if not (self._lock.acquire(timeout=timeout) if wait else self._lock.acquire(False)):
            return self._cache_for(url)
        try:
            cache = self._cache_for(url)
            now = clock.monotonic()
            min_refetch = oauth_cc_settings.JWKS_MIN_REFETCH_SECONDS
            if now - cache.attempted_at < min_refetch and now < cache.expires_at:
                return cache  # fetched just now, perhaps while we waited
            self._cache = self._fetch(cache, now, timeout, min_refetch)
            return self._cache
        finally:
            self._lock.release()

    def _cache_for(self, url: str) -> _Cache:
        cache = self._cache
        return cache if cache.url == url else _Cache(url)

    def _fetch(self, cache: _Cache, now: float, timeout: float, min_refetch: float) -> _Cache:
        """``cache`` with the set fetched now or, if that fails or has no usable key while
        ``cache`` has some, with the keys it has for JWKS_MIN_REFETCH_SECONDS more."""
        url = str(cache.url)
        kept = replace(cache, attempted_at=now, expires_at=now + min_refetch)
        try:
            fetched = fetch_jwks(url, timeout=timeout, max_bytes=MAX_DOCUMENT_BYTES)
            keys = usable_keys(fetched.keys)
        except JWKSFetchError as e:
            logger.warning("%s Keeping the %d key(s) fetched before.", e, len(cache.keys))
            return kept
        except Exception:  # never let a fetch turn API calls into 500s: keep what we have
            logger.exception("Fetching the JWK Set failed unexpectedly. Keeping the %d "
                             "key(s) fetched before.", len(cache.keys))
            return kept
        if not keys and cache.keys:
            logger.warning("The JWK Set at %s has no usable key. Keeping the %d key(s) "
                           "fetched before.", url, len(cache.keys))
            return kept
        lifetime = oauth_cc_settings.JWKS_MAX_AGE if fetched.max_age is None else fetched.max_age
        expires_at = now + min(max(lifetime, min_refetch), MAX_CACHE_SECONDS)
        return _Cache(url, keys, expires_at, now)


remote_jwks = RemoteJWKS()
process_cache.register(remote_jwks.clear)
