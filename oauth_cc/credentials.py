"""Client ids and secrets: generation, keyed hashing, constant-time verification.

Secrets are 256 random bits, so a fast keyed hash (HMAC-SHA256) protects them fully: there is
nothing to brute-force, and a slow password hasher would only cap the token endpoint at a few
requests per second. The HMAC key is derived from ``OAUTH_CC["SECRET_HASH_KEYS"]`` or, by
default, from ``SECRET_KEY``; older keys (and ``SECRET_KEY_FALLBACKS``) still verify, and a
hash made with one of them is flagged for re-hashing. No ORM, no HTTP here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from oauth_cc.settings import oauth_cc_settings

CLIENT_ID_BYTES = 18  # 24 URL-safe characters
CLIENT_SECRET_BYTES = 32  # 256 bits, 43 URL-safe characters
HASH_PREFIX = "hmac-sha256$"
# Longer candidates are rejected before hashing: no generated secret comes near this.
MAX_SECRET_LENGTH = 256


def generate_client_id() -> str:
    """A random client id of RFC 3986 unreserved characters only (safe in Basic and URLs)."""
    return secrets.token_urlsafe(CLIENT_ID_BYTES)


def generate_client_secret() -> str:
    """A random 256-bit secret of RFC 3986 unreserved characters only."""
    return secrets.token_urlsafe(CLIENT_SECRET_BYTES)


@lru_cache(maxsize=8)
def _derive_keys(configured: tuple[str, ...] | None, secret_key: str,
                 fallbacks: tuple[str, ...]) -> tuple[bytes, ...]:
    material = configured if configured else (secret_key, *fallbacks)
    return tuple(
        hmac.new(m.encode(), b"oauth_cc.credentials.client-secret-hash.v1", hashlib.sha256).digest()
        for m in material
    )


def _hash_keys() -> tuple[bytes, ...]:
    """The HMAC keys, the one that hashes first; derived once per distinct configuration."""
    configured = oauth_cc_settings.SECRET_HASH_KEYS
    if isinstance(configured, str):
        configured = [configured]
    return _derive_keys(
        tuple(configured) if configured else None,
        settings.SECRET_KEY,
        tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())),
    )


def _digest(key: bytes, secret: str) -> str:
    return HASH_PREFIX + hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


@sensitive_variables("secret")
def hash_secret(secret: str) -> str:
    """The stored form of ``secret``: ``hmac-sha256$<hex>`` under the current key."""
    return _digest(_hash_keys()[0], secret)


@sensitive_variables("secret")
def check_secret(secret: str, stored: str) -> tuple[bool, bool]:
    """Compare ``secret`` with a stored hash in constant time.

    Returns ``(matches, needs_rehash)``; ``needs_rehash`` is true when it matched under an
    older key, so the caller can store ``hash_secret(secret)`` instead.
    """
    if not stored or len(secret) > MAX_SECRET_LENGTH:
        return False, False
    for index, key in enumerate(_hash_keys()):
        if hmac.compare_digest(_digest(key, secret), stored):
            return True, index > 0
    return False, False


def burn_hash_time(secret: str) -> None:
    """Spend what a real comparison spends, so an unknown client id answers no faster."""
    check_secret(secret[:MAX_SECRET_LENGTH], HASH_PREFIX)
