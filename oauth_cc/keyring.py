"""The in-process cache of signing keys: the active key for minting, public keys for verifying.

Loading a PEM private key costs tens of milliseconds, so key objects are cached by ``kid`` (a
kid's material never changes). Which key is active is re-read at most every
``STATE_TTL_SECONDS``; a rotation in this process drops the cache at once (see ``signals``).
A worker that has not yet noticed a rotation keeps signing with the just-retired key, which
stays published for that long and more (``models.retired_key_lifetime``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oauth_cc import clock, keys, process_cache
from oauth_cc.settings import oauth_cc_settings

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
        self._signing_checked_at = 0.0
        self._private: dict[str, keys.PrivateKey] = {}

    def clear(self) -> None:
        with self._lock:
            self._signing = None
            self._signing_checked_at = 0.0
            self._private.clear()

    def forget_active(self) -> None:
        """Re-read which key is active on next use (a rotation happened in this process)."""
        with self._lock:
            self._signing = None
            self._signing_checked_at = 0.0

    def signing_key(self) -> SigningMaterial:
        """The active key, from cache while fresh; creates the first key if there is none."""
        signing, checked_at = self._signing, self._signing_checked_at
        if signing is not None and clock.now() - checked_at < oauth_cc_settings.STATE_TTL_SECONDS:
            return signing
        with self._lock:
            if self._signing is not None and self._signing is not signing:
                return self._signing  # another thread refreshed it meanwhile
            from oauth_cc.models import SigningKey

            row = SigningKey.objects.active()
            material = SigningMaterial(row.kid, row.algorithm, self._private_key(row))
            self._signing, self._signing_checked_at = material, clock.now()
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
