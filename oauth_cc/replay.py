"""Refusing a replayed JWT: a client assertion (RFC 7523 §3) or a DPoP proof (RFC 9449
§11.1) is accepted once. Its ``jti`` is recorded in Django's default cache, which the workers
share as they share the brute-force counts (``throttle``), for as long as the JWT could
still be accepted.
"""

from __future__ import annotations

import hashlib
import math

from oauth_cc.throttle import shared_cache


def first_use(prefix: str, owner: str, jti: str, seconds: float) -> bool:
    """Record ``jti`` of ``owner``'s JWTs for ``seconds`` (at least one); False if it was
    recorded before.

    ``add`` is atomic on Redis, Memcached, the database and the local-memory cache: of two
    requests with one JWT, one wins. Keyed by ``owner`` (a client, a key) too, so that nobody
    can use up the ``jti`` of another's JWTs, and hashed (160 bits): a ``jti`` may hold any
    character, a cache key may not.
    """
    text = f"{owner}\0{jti}".encode("utf-8", "surrogatepass")  # any str, a lone surrogate too
    key = prefix + hashlib.sha256(text).hexdigest()[:40]
    return bool(shared_cache().add(key, 1, max(1, math.ceil(seconds))))
