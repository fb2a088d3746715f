"""What a worker keeps of ``private_key_jwt`` clients' public keys, so that the token
endpoint parses no JWK per request (the registration rules are ``client_jwks``'s):

- ``client_keys(record)``: an inline JWK Set, parsed once per document (by its digest), or
  the set at the client's ``jwks_uri`` as last fetched;
- ``refetched_keys(record)``: the ``jwks_uri`` set fetched again after an assertion named a
  ``kid`` it lacks, at most once per ``JWKS_MIN_REFETCH_SECONDS`` per URL.

A ``jwks_uri`` is fetched by ``jwks_fetch`` (the one fetcher: ``JWKS_FETCH_TIMEOUT`` for the
whole exchange, no redirects, at most ``client_jwks.MAX_DOCUMENT_BYTES``) and cached for its
``Cache-Control: max-age`` within [``JWKS_MIN_REFETCH_SECONDS``, 1 day] (``JWKS_MAX_AGE`` when
it names none), as remote mode caches the issuer's. A failed fetch keeps the keys fetched
before, as remote mode does; a set that is fetched and holds no usable key is taken at its
word: removing its keys is how a client withdraws them. Both maps are ``TTLMap``s, bounded,
and emptied with the other process caches.

Unlike remote mode's ``JWKS_URL``, a ``jwks_uri`` is chosen by the client's owner (in the
portal, too), so it is fetched only from the addresses ``client_jwks.address_policy``
allows: otherwise it would let them make the server send requests into its own network
(server-side request forgery), at cloud metadata (169.254.169.254) or private hosts. The
policy judges each address the name resolves to, as connected to, not the name; registration
already refuses a URL whose host is such an address written out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from oauth_cc import clock
from oauth_cc.cache import TTLMap
from oauth_cc.client_jwks import (
    MAX_DOCUMENT_BYTES,
    MAX_KEYS,
    ClientKey,
    address_policy,
    key_algorithms,
    narrowed_algorithms,
    parse_jwk_set,
)
from oauth_cc.jwks_fetch import JWKSFetchError, PublicJWK, fetch_jwks
from oauth_cc.settings import oauth_cc_settings

if TYPE_CHECKING:
    from oauth_cc.models import ClientRecord

logger = logging.getLogger("oauth_cc")

MAX_CACHE_SECONDS = 86_400


@dataclass(frozen=True)
class ClientKeySet:
    """The keys a client's assertions are checked with. ``available`` is False for a
    ``jwks_uri`` that has never been fetched successfully (the keys could not be had)."""

    keys: tuple[ClientKey, ...]
    available: bool = True


# Parsed inline sets by the SHA-256 of their canonical text: clients that share a document
# share the entry, and a changed document is a new entry (the old one ages out).
_inline: TTLMap[bytes, tuple[ClientKey, ...]] = TTLMap(ttl=lambda: 3600.0, limit=2000)


def inline_keys(document_text: str) -> tuple[ClientKey, ...]:
    """The keys of a registered JWK Set given as its JSON text, parsed once per worker."""
    digest = hashlib.sha256(document_text.encode()).digest()
    keys = _inline.get(digest)
    if keys is None:
        try:
            keys = parse_jwk_set(document_text)[1]
        except ValidationError as e:  # saved around the model's validation
            logger.warning("A client's registered JWK Set is not valid (%s); none of its keys "
                           "is used.", "; ".join(e.messages))
            keys = ()
        _inline.put(digest, keys)
    return keys


def client_keys(record: ClientRecord) -> ClientKeySet:
    """The keys ``record``'s assertions are checked with: its JWK Set, or its jwks_uri's."""
    if record.jwks_uri:
        return jwks_uris.keys(record.jwks_uri)
    return ClientKeySet(inline_keys(record.jwks) if record.jwks else ())


def refetched_keys(record: ClientRecord) -> ClientKeySet | None:
    """For a jwks_uri client, its keys after fetching them again unless that was done less
    than ``JWKS_MIN_REFETCH_SECONDS`` ago; None for a client whose keys are inline."""
    return jwks_uris.refetched(record.jwks_uri) if record.jwks_uri else None


@dataclass(frozen=True)
class _Entry:
    """What is known of one jwks_uri. Replaced whole, never changed in place."""

    keys: tuple[ClientKey, ...] = ()
    available: bool = False  # a fetch has succeeded
    expires_at: float = -math.inf  # monotonic, as the next
    attempted_at: float = -math.inf  # the last fetch, whether it failed or not


_NOTHING = _Entry()


class JWKSURIKeys:
    """The key sets at clients' jwks_uris, by URL, per worker.

    One thread fetches a URL at a time (striped locks: bounded, and a slow URL holds up only
    the URLs that share its stripe). Threads that need the answer (no keys yet, an unknown
    ``kid``) wait for it up to ``JWKS_FETCH_TIMEOUT``; others go on with the keys they have.
    """

    limit = 1000  # URLs remembered; the least recently used goes first
    stripes = 16

    def __init__(self) -> None:
        self._entries: TTLMap[str, _Entry] = TTLMap(ttl=lambda: math.inf, limit=self.limit)
        self._locks = tuple(threading.Lock() for _ in range(self.stripes))

    def keys(self, url: str) -> ClientKeySet:
        entry = self._entries.get(url) or _NOTHING
        if clock.monotonic() >= entry.expires_at:
            entry = self._refresh(url, wait=not entry.available)
        return ClientKeySet(entry.keys, entry.available)

    def refetched(self, url: str) -> ClientKeySet:
        entry = self._refresh(url, wait=True)
        return ClientKeySet(entry.keys, entry.available)

    def clear(self) -> None:
        self._entries.clear()

    def _refresh(self, url: str, *, wait: bool) -> _Entry:
        timeout = oauth_cc_settings.JWKS_FETCH_TIMEOUT
        lock = self._locks[hash(url) % self.stripes]
        if not (lock.acquire(timeout=timeout) if wait else lock.acquire(blocking=False)):
            return self._entries.get(url) or _NOTHING
        try:
            entry = self._entries.get(url) or _NOTHING
            now = clock.monotonic()
            min_refetch = float(oauth_cc_settings.JWKS_MIN_REFETCH_SECONDS)
            if now - entry.attempted_at < min_refetch:
                return entry  # fetched just now, perhaps while we waited
            entry = self._fetch(url, entry, now, timeout, min_refetch)
            self._entries.put(url, entry)
            return entry
        finally:
            lock.release()

    def _fetch(self, url: str, entry: _Entry, now: float, timeout: float,
               min_refetch: float) -> _Entry:
        """The entry after fetching ``url`` now; on failure ``entry``'s keys, kept for
        ``min_refetch`` more seconds."""
        kept = replace(entry, attempted_at=now, expires_at=now + min_refetch)
        try:
            fetched = fetch_jwks(url, timeout=timeout, max_bytes=MAX_DOCUMENT_BYTES,
                                 allow_address=address_policy(url))
            keys = usable_keys(fetched.keys, url)
        except JWKSFetchError as e:
            logger.warning("%s Keeping the %d client key(s) fetched before.", e,
                           len(entry.keys))
            return kept
        except Exception:  # never let a client's URL turn token requests into 500s
            logger.exception("Fetching the client JWK Set at %s failed unexpectedly. Keeping "
                             "the %d key(s) fetched before.", url, len(entry.keys))
            return kept
        lifetime = (oauth_cc_settings.JWKS_MAX_AGE if fetched.max_age is None
                    else fetched.max_age)
        expires_at = now + min(max(lifetime, min_refetch), MAX_CACHE_SECONDS)
        return _Entry(keys, True, expires_at, now)


def usable_keys(jwks: tuple[PublicJWK, ...], url: str) -> tuple[ClientKey, ...]:
    """The fetched keys a client may sign assertions with; others are left out and logged.

    Raises ``JWKSFetchError`` for more than ``MAX_KEYS`` of them: an assertion without a
    ``kid`` is tried against each, and that work must stay bounded.
    """
    found = []
    for jwk in jwks:
        try:
            found.append(ClientKey(jwk.kid, narrowed_algorithms(key_algorithms(jwk.key), jwk.alg),
                                   jwk.key))
        except ValueError as e:
            logger.warning("Skipping a key (kid %r) of the client JWK Set at %s: it %s",
                           jwk.kid, url, e)
    if len(found) > MAX_KEYS:
        raise JWKSFetchError(f"The JWK Set at {url} has {len(found)} usable keys; at most "
                             f"{MAX_KEYS} are used.")
    return tuple(found)


jwks_uris = JWKSURIKeys()
