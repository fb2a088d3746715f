"""The in-process cache of signing keys: the active key for minting, public keys for verifying.

Loading a PEM private key costs tens of milliseconds, so key objects are cached by ``kid`` (a
kid's material never changes). Which key is active is re-read at most every
``STATE_TTL_SECONDS``; a rotation in this process drops the cache at once (see ``signals``).
A worker that has not yet noticed a rotation keeps signing with the just-retired key, which
stays published for that long and more (``models.retired_key_lifetime``).

For verifying on the issuer's own site, the published public keys are cached the same way:
re-read every ``STATE_TTL_SECONDS``, and on an unknown ``kid`` at most once per
``JWKS_MIN_REFETCH_SECONDS``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oauth_cc import clock, keys, process_cache
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import VerificationKey

if TYPE_CHECKING:
    from oauth_cc.models import SigningKey


@dataclass(frozen=True)
class SigningMaterial:
    kid: str
    algorithm: str
    private_key: keys.PrivateKey

    def __repr__(self) -> str:
        return f"<SigningMaterial {self.kid} {self.algorithm}>"


class KeyRing:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._signing: SigningMaterial | None = None
        self._signing_checked_at = -math.inf
        self._private: dict[str, keys.PrivateKey] = {}
        self._published: dict[str, VerificationKey] = {}
        self._published_loaded_at = -math.inf
        self._unknown_kid_reload_at = -math.inf

    def clear(self) -> None:
        with self._lock:
            self.forget_active()
            self._private.clear()
            self._unknown_kid_reload_at = -math.inf

    def forget_active(self) -> None:
        """Re-read the keys on next use (a key was created, rotated or deleted here)."""
        with self._lock:
            self._signing = None
            self._signing_checked_at = -math.inf
            self._published = {}
            self._published_loaded_at = -math.inf

    def verification_key(self, kid: str) -> VerificationKey | None:
        """A published key by ``kid``, from a cache re-read every ``STATE_TTL_SECONDS``.

        An unknown ``kid`` re-reads the keys at most once per ``JWKS_MIN_REFETCH_SECONDS``,
        so a flood of forged kids costs no queries.
        """
        now = clock.monotonic()
        if now - self._published_loaded_at >= oauth_cc_settings.STATE_TTL_SECONDS:
            self._load_published()
        key = self._published.get(kid)
        if key is None and (now - self._unknown_kid_reload_at
                            >= oauth_cc_settings.JWKS_MIN_REFETCH_SECONDS):
            self._unknown_kid_reload_at = now
            self._load_published()
            key = self._published.get(kid)
        return key

    def _load_published(self) -> None:
        from oauth_cc.models import SigningKey

        with self._lock:
            previous = self._published
            published: dict[str, VerificationKey] = {}
            for kid, algorithm, jwk in SigningKey.objects.published().values_list(
                    "kid", "algorithm", "public_jwk"):
                known = previous.get(kid)
                published[kid] = known or VerificationKey(kid, algorithm,
                                                          keys.load_public_key(jwk))
            self._published, self._published_loaded_at = published, clock.monotonic()

    def signing_key(self) -> SigningMaterial:
        """The active key, from cache while fresh; creates the first key if there is none."""
        signing, checked_at = self._signing, self._signing_checked_at
        if signing is not None and \
                clock.monotonic() - checked_at < oauth_cc_settings.STATE_TTL_SECONDS:
            return signing
        with self._lock:
            if self._signing is not None and self._signing is not signing:
                return self._signing  # another thread refreshed it meanwhile
            from oauth_cc.models import SigningKey

            row = SigningKey.objects.active()
            material = SigningMaterial(row.kid, row.algorithm, self._private_key(row))
            self._signing, self._signing_checked_at = material, clock.monotonic()
            return material

    def _private_key(self, row: SigningKey) -> keys.PrivateKey:
        key = self._private.get(row.kid)
        if key is None:
            key = keys.load_private_key(row.private_key_ciphertext, row.kid)
            if len(self._private) > 32:
                self._private.clear()
            self._private[row.kid] = key
        return key


key_ring = KeyRing()
process_cache.register(key_ring.clear)
