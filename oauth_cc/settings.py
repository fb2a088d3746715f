"""The one settings object of oauth_cc, read from ``settings.OAUTH_CC`` on access.

Every key is documented in ``DEFAULTS`` and validated by ``oauth_cc.checks``. Values are read
lazily and the cache is dropped on ``setting_changed``, so ``override_settings(OAUTH_CC=...)``
works everywhere. Nothing in oauth_cc reads settings at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # The issuer identifier (RFC 8414 §2): an absolute https URL, or http on a development
    # host. Required. It is the `iss` claim and the metadata `issuer`, byte for byte.
    "ISSUER": None,
    # The `aud` claim of issued tokens and the audience verified by resource servers.
    # None means the ISSUER.
    "AUDIENCE": None,
    # Token lifetime in seconds when the request names none, and the largest it may name.
    "DEFAULT_EXPIRES_IN": 900,
    "MAX_EXPIRES_IN": 3600,
    # Algorithm of newly created signing keys: "RS256", "ES256" or "EdDSA".
    "SIGNING_ALGORITHM": "RS256",
    # RSA modulus size in bits for new RS256 keys.
    "KEY_SIZE": 2048,
    # Key material for encrypting private signing keys at rest. None derives it from
    # SECRET_KEY (and decrypts with SECRET_KEY_FALLBACKS too). A list: the first encrypts,
    # all decrypt, so it can be rotated like SECRET_KEY.
    "KEY_ENCRYPTION_KEYS": None,
    # Key material for the keyed hash of client secrets. None derives it from SECRET_KEY
    # (and verifies with SECRET_KEY_FALLBACKS). A list: the first hashes, all verify.
    "SECRET_HASH_KEYS": None,
    # Clock skew allowed when verifying `exp` and `nbf`, in seconds.
    "LEEWAY_SECONDS": 30,
    # `Cache-Control: max-age` of the JWKS document, in seconds.
    "JWKS_MAX_AGE": 300,
    # An unknown `kid` reloads the signing keys at most this often, in seconds.
    "JWKS_MIN_REFETCH_SECONDS": 30,
    # Remote mode: the JWKS URL of an issuer whose database this site does not share.
    "JWKS_URL": None,
    # Timeout of one JWKS fetch in remote mode, in seconds.
    "JWKS_FETCH_TIMEOUT": 3.0,
    # Algorithms a resource server accepts (never "none", never an HMAC).
    "ALLOWED_ALGORITHMS": ["RS256", "ES256", "EdDSA"],
    # The `realm` of WWW-Authenticate challenges from the resource server.
    "REALM": "api",
    # The callable (or its dotted path) that renders refused API requests; see errors.py.
    "ERROR_RENDERER": "oauth_cc.bearer_errors.rfc6750",
    # How long a worker may act on cached client state and revocations, in seconds.
    "STATE_TTL_SECONDS": 5,
    # Brute-force protection of client authentication (RFC 6749 §2.3.1): failures allowed
    # per window of one client id from one address, from one address, and of one client id
    # from all addresses together (past that, the client id is refused from everywhere until
    # the window passes). 0 turns a limit off. IPv6 addresses count per /64.
    "AUTH_FAILURE_WINDOW_SECONDS": 300,
    "AUTH_FAILURES_PER_CLIENT": 10,
    "AUTH_FAILURES_PER_ADDRESS": 100,
    "AUTH_FAILURES_PER_CLIENT_TOTAL": 1000,
    # How many X-Forwarded-For hops to trust for the client address; 0 uses REMOTE_ADDR.
    "TRUSTED_PROXIES": 0,
    # How long the previous secret stays valid after it is regenerated, in seconds.
    "SECRET_ROTATION_GRACE_SECONDS": 0,
    # private_key_jwt (RFC 7523): how far ahead of now a client assertion's `exp` may be, in
    # seconds. Each assertion's `jti` is remembered in the cache until its `exp`.
    "ASSERTION_MAX_AGE_SECONDS": 3600,
    # The customer portal (oauth_cc.portal): which projects a request may manage. The
    # callable (or its dotted path) takes the request and returns a QuerySet of Project; None
    # means the projects whose `members` include request.user.
    "PORTAL_PROJECTS": None,
    # The most clients a project may hold (made in the portal or not) for the portal to
    # create another.
    "PORTAL_MAX_CLIENTS": 20,
    # DPoP (RFC 9449): the algorithms a proof may be signed with ("ES256", "RS256", "PS256",
    # "EdDSA"; "Ed25519", RFC 9864's name for EdDSA, is accepted wherever EdDSA is), and how
    # far from now a proof's `iat` may be, either way, in seconds. Each proof's `jti` is
    # remembered in the cache that long.
    "DPOP_ALGORITHMS": ["ES256", "RS256", "PS256", "EdDSA"],
    "DPOP_PROOF_MAX_AGE_SECONDS": 60,
    # The most tokens one client may get in any hour (a sliding hour, counted in the shared
    # cache); None: no limit. A client's own `tokens_per_hour` overrides it.
    "TOKENS_PER_CLIENT_PER_HOUR": None,
}


class OAuthCCSettings:
    """Attribute access to ``settings.OAUTH_CC`` merged over ``DEFAULTS``, cached until reload.

    The annotations below are the types the system checks (``oauth_cc.checks``) hold each
    setting to, so that callers use them as they are: a site whose settings fail a check is
    refused by ``manage.py`` before any of them is used.
    """

    ISSUER: str
    AUDIENCE: str | None
    DEFAULT_EXPIRES_IN: int
    MAX_EXPIRES_IN: int
    SIGNING_ALGORITHM: str
    KEY_SIZE: int
    KEY_ENCRYPTION_KEYS: list[str] | None
    SECRET_HASH_KEYS: list[str] | None
    LEEWAY_SECONDS: float
    JWKS_MAX_AGE: int
    JWKS_MIN_REFETCH_SECONDS: float
    JWKS_URL: str | None
    JWKS_FETCH_TIMEOUT: float
    ALLOWED_ALGORITHMS: list[str]
    REALM: str
    ERROR_RENDERER: str | Callable[..., Any]
    STATE_TTL_SECONDS: float
    AUTH_FAILURE_WINDOW_SECONDS: float
    AUTH_FAILURES_PER_CLIENT: int
    AUTH_FAILURES_PER_ADDRESS: int
    AUTH_FAILURES_PER_CLIENT_TOTAL: int
    TRUSTED_PROXIES: int
    SECRET_ROTATION_GRACE_SECONDS: int
    ASSERTION_MAX_AGE_SECONDS: int
    PORTAL_PROJECTS: str | Callable[..., Any] | None
    PORTAL_MAX_CLIENTS: int
    DPOP_ALGORITHMS: list[str]
    DPOP_PROOF_MAX_AGE_SECONDS: int
    TOKENS_PER_CLIENT_PER_HOUR: int | None

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(django_settings, "OAUTH_CC", None)
        return value if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        """The setting's value, read once: it is then an instance attribute, which Python
        finds without calling this (settings are read on every request's hot path)."""
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid oauth_cc setting: {name!r}")
        value = self.user_settings.get(name, DEFAULTS[name])
        self.__dict__[name] = value
        return value

    # Derived values used on hot paths, cached like the raw ones.

    @property
    def audience(self) -> str:
        return self.AUDIENCE or self.ISSUER

    @property
    def issuer_origin(self) -> str:
        """The scheme and host of ISSUER, e.g. ``https://api.example.com``."""
        parts = urlsplit(self.ISSUER)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def issuer_path(self) -> str:
        """The path of ISSUER without its slashes, e.g. ``tenant-a`` (often empty)."""
        return urlsplit(self.ISSUER).path.strip("/")

    def reload(self) -> None:
        self.__dict__.clear()


oauth_cc_settings = OAuthCCSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in {"OAUTH_CC", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "CACHES"}:
        oauth_cc_settings.reload()
        from oauth_cc import process_cache

        process_cache.clear_all()


setting_changed.connect(_reload)
