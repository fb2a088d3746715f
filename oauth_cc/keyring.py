"""This site's signing keys, as a worker remembers them: the active key for minting, the
published public keys for verifying.

Loading a PEM private key costs tens of milliseconds, so key objects are kept by ``kid`` (a
kid's material never changes). Which key is active, and which keys are published, is re-read
at most every ``STATE_TTL_SECONDS``, by one thread while the others that need it wait for its
answer; an unknown ``kid`` re-reads the published keys at most once per
``JWKS_MIN_REFETCH_SECONDS``.
A change made in this process drops them at once (``signals``). A worker that has not yet
noticed a rotation keeps signing with the just-retired key, which stays published for that
long and more (``models.retired_key_lifetime``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oauth_cc import clock, keys, process_cache
from oauth_cc.cache import TTLMap
from oauth_cc.settings import oauth_cc_settings

if TYPE_CHECKING:
    from oauth_cc.models import SigningKey

_ACTIVE = "active"


@dataclass(frozen=True)
class SigningMaterial:
    kid: str
    algorithm: str
    private_key: keys.PrivateKey

    def __repr__(self) -> str:
        return f"<SigningMaterial {self.kid} {self.algorithm}>"


class KeyRing:
    def __init__(self) -> None:
        def state_ttl() -> float:
            return oauth_cc_settings.STATE_TTL_SECONDS

        self._active: TTLMap[str, SigningMaterial] = TTLMap(ttl=state_ttl, limit=1)
        # Refreshed whole (refresh_if_due), so its entries need no expiry of their own.
        self._published: TTLMap[str, keys.VerificationKey] = TTLMap(ttl=lambda: math.inf,
                                                                    limit=None)
        self._private: TTLMap[str, keys.PrivateKey] = TTLMap(ttl=lambda: math.inf, limit=32)
        self._state_ttl = state_ttl
        self._unknown_kid_reload_at = -math.inf

    def clear(self) -> None:
        self.forget_active()
        self._private.clear()
        self._unknown_kid_reload_at = -math.inf

    def forget_active(self) -> None:
        """Re-read the keys on next use (a key was created, rotated or deleted here)."""
        self._active.clear()
        self._published.clear()

    def verification_key(self, kid: str) -> keys.VerificationKey | None:
        """A published key by ``kid``, from a set re-read every ``STATE_TTL_SECONDS``.

        An unknown ``kid`` re-reads the keys at most once per ``JWKS_MIN_REFETCH_SECONDS``,
        so a flood of forged kids costs no queries.
        """
        self._published.refresh_if_due(self._load_published, every=self._state_ttl())
        key = self._published.get(kid)
        if key is None:
            now = clock.monotonic()
            if now - self._unknown_kid_reload_at >= oauth_cc_settings.JWKS_MIN_REFETCH_SECONDS:
                self._unknown_kid_reload_at = now
                self._published.refresh_if_due(self._load_published, every=0)
                key = self._published.get(kid)
        return key

    def _load_published(self) -> None:
        from oauth_cc.models import SigningKey

        rows = SigningKey.objects.published().values_list("kid", "algorithm", "public_jwk")
        published = {kid: self._published.get(kid)
                      or keys.VerificationKey(kid, algorithm, keys.load_public_key(jwk))
                      for kid, algorithm, jwk in rows}
        self._published.discard_where(lambda kid, _: kid not in published)
        for kid, key in published.items():
            self._published.put(kid, key)

    def signing_key(self) -> SigningMaterial:
        """The active key, from cache while fresh; creates the first key if there is none."""
        # Unguarded: reading the active key creates the first keys on first use, whose signals
        # would otherwise keep it from being stored; a rotation elsewhere is seen within
        # STATE_TTL_SECONDS either way.
        material = self._active.get_or_load(_ACTIVE, self._read_active, remember_missing=False,
                                            guard=False)
        assert material is not None
        return material

    def _read_active(self, _: str) -> SigningMaterial:
        from oauth_cc.models import SigningKey

        row = SigningKey.objects.active()
        return SigningMaterial(row.kid, row.algorithm, self._private_key(row))

    def _private_key(self, row: SigningKey) -> keys.PrivateKey:
        return self._private.get_or_load(  # type: ignore[return-value]
            row.kid, lambda kid: keys.load_private_key(row.private_key_ciphertext, kid),
            remember_missing=False)


key_ring = KeyRing()
process_cache.register(key_ring.clear)  # its unknown-kid mark goes with its maps
