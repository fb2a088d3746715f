"""Remote mode: verification keys from the issuer's JWK Set at ``JWKS_URL``.

For services that do not share the issuer's database. The set is cached for its
``Cache-Control: max-age`` (bounded to [JWKS_MIN_REFETCH_SECONDS, 1 day]); an unknown ``kid``
refetches at most once per ``JWKS_MIN_REFETCH_SECONDS``; a failed fetch keeps the last good
set (and is logged); each fetch has a timeout of ``JWKS_FETCH_TIMEOUT``. While one thread
refetches, others go on with the keys they have.

PyJWT's ``PyJWKClient`` has no Cache-Control lifetimes, refetch limit or serve-stale-on-error,
so this is a small fetcher on ``urllib`` that hands parsing to PyJWT's ``PyJWK``.

Remote mode has no database: it cannot see disabled clients or revoked tokens before they
expire. Use the issuer's introspection endpoint where that matters.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import re
import threading
import urllib.error
import urllib.request
from typing import Any

import jwt

from oauth_cc import clock, process_cache
from oauth_cc.keys import PRIVATE_JWK_MEMBERS
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import VerificationKey

logger = logging.getLogger("oauth_cc")

MAX_DOCUMENT_BYTES = 1_048_576
MAX_CACHE_SECONDS = 86_400
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


class JWKSFetchError(Exception):
    pass


def fetch_jwks(url: str, timeout: float) -> tuple[dict[str, Any], int | None]:
    """GET the JWK Set at ``url``: ``(document, max_age or None)``. Raises ``JWKSFetchError``."""
    if not url.lower().startswith(("https://", "http://")):
        raise JWKSFetchError("JWKS_URL must be an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Accept": "application/json", "User-Agent": "django-oauth-cc"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_DOCUMENT_BYTES + 1)
            cache_control = response.headers.get("Cache-Control", "")
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
        # HTTPException: a bad status line, a truncated body, an over-long header line.
        raise JWKSFetchError(f"Fetching {url} failed: {e!r}") from e
    if len(body) > MAX_DOCUMENT_BYTES:
        raise JWKSFetchError(f"The JWK Set at {url} is too large.")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise JWKSFetchError(f"The JWK Set at {url} is not JSON.") from e
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSFetchError(f"The document at {url} is not a JWK Set.")
    match = _MAX_AGE.search(cache_control)
    no_cache = "no-store" in cache_control.lower() or "no-cache" in cache_control.lower()
    if no_cache:
        return document, 0
    if match is None:
        return document, None
    digits = match.group(1)  # int() refuses more than 4,300 digits: no header gets that far
    return document, int(digits) if len(digits) <= 9 else MAX_CACHE_SECONDS


def parse_jwks(document: dict[str, Any]) -> dict[str, VerificationKey]:
    """The usable signing keys of a JWK Set, by kid. Keys without ``kid``, with an ``alg`` we
    do not allow, or not for signatures are skipped: they could never verify our tokens."""
    allowed = set(oauth_cc_settings.ALLOWED_ALGORITHMS)
    found: dict[str, VerificationKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            continue
        kid, alg = jwk.get("kid"), jwk.get("alg")
        if (not isinstance(kid, str) or not isinstance(alg, str) or alg not in allowed
                or jwk.get("use", "sig") != "sig"):
            continue
        if PRIVATE_JWK_MEMBERS & jwk.keys():
            continue  # a private or symmetric key has no business here
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            logger.warning("Skipping an unusable key %s in the JWK Set.", kid)
            continue
        found[kid] = VerificationKey(kid, alg, key)
    return found


class RemoteJWKS:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._url: str | None = None
        self._keys: dict[str, VerificationKey] = {}
        self._expires_at = -math.inf
        self._attempted_at = -math.inf

    def verification_key(self, kid: str) -> VerificationKey | None:
        url = str(oauth_cc_settings.JWKS_URL)
        if url != self._url:
            with self._lock:
                if url != self._url:
                    self.clear()
                    self._url = url
        now = clock.monotonic()
        if now >= self._expires_at:
            self._refresh(blocking=not self._keys)
        key = self._keys.get(kid)
        if key is None and now - self._attempted_at >= oauth_cc_settings.JWKS_MIN_REFETCH_SECONDS:
            self._refresh(blocking=True)
            key = self._keys.get(kid)
        elif key is None and self._lock.locked():
            # Another thread is fetching (perhaps for this very kid, after a rotation): wait
            # for its answer rather than refuse a token the issuer has just started to sign.
            with self._lock:
                key = self._keys.get(kid)
        return key

    def _refresh(self, *, blocking: bool) -> None:
        if not self._lock.acquire(blocking=blocking):
            return  # another thread is fetching; go on with the keys we have
        try:
            now = clock.monotonic()
            min_refetch = float(oauth_cc_settings.JWKS_MIN_REFETCH_SECONDS)
            if now - self._attempted_at < min_refetch and now < self._expires_at:
                return  # refreshed while we waited
            self._attempted_at = now
            url = str(self._url)
            try:
                document, max_age = fetch_jwks(url, float(oauth_cc_settings.JWKS_FETCH_TIMEOUT))
                keys = parse_jwks(document)
            except JWKSFetchError as e:
                logger.warning("%s Keeping the %d key(s) fetched before.", e, len(self._keys))
                self._expires_at = now + min_refetch
                return
            except Exception:  # never let a fetch turn API calls into 500s: keep what we have
                logger.exception("Fetching the JWK Set failed unexpectedly. Keeping the %d "
                                 "key(s) fetched before.", len(self._keys))
                self._expires_at = now + min_refetch
                return
            lifetime = oauth_cc_settings.JWKS_MAX_AGE if max_age is None else max_age
            self._keys = keys
            self._expires_at = now + min(max(lifetime, min_refetch), MAX_CACHE_SECONDS)
        finally:
            self._lock.release()


remote_jwks = RemoteJWKS()
process_cache.register(remote_jwks.clear)
