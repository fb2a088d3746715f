"""System checks for ``settings.OAUTH_CC``: one id per problem, each documented in README.

E001 ISSUER missing          E002 ISSUER not an absolute http(s) URL without query/fragment
E003 unknown key             E004 a lifetime setting out of range
E005 SIGNING_ALGORITHM       E006 KEY_SIZE
E007 ALLOWED_ALGORITHMS      E008 a seconds setting negative or not a number
E009 AUDIENCE                E010 JWKS_URL
E011 key material settings   E012 TRUSTED_PROXIES, AUTH_FAILURES_PER_CLIENT/ADDRESS not counts
E013 ERROR_RENDERER not importable / not callable
E014 REALM not a non-empty string without quotes
E015 AUTH_FAILURES_PER_CLIENT_TOTAL not 0 or a count above what one address may fail
E016 PORTAL_PROJECTS not None, a callable, or the dotted path of one
E017 PORTAL_MAX_CLIENTS not a positive integer
E018 ASSERTION_MAX_AGE_SECONDS not an integer from 1 to 86400
E019 DPOP_ALGORITHMS not a non-empty list of ES256, RS256, PS256, EdDSA, Ed25519
E020 DPOP_PROOF_MAX_AGE_SECONDS not an integer from 1 to 3600
E021 TOKENS_PER_CLIENT_PER_HOUR not None or an integer, 1 or more
W001 ISSUER uses http on a host other than localhost / loopback
W002 the default cache is process-local and DEBUG is off (brute-force counts not shared)
W003 remote mode with a process-local cache and DEBUG off (DPoP replays not caught across
     processes)
W004 TRUSTED_PROXIES says a proxy is in front of an https site, but SECURE_PROXY_SSL_HEADER
     is unset (request URLs, and so DPoP's htu, are built as http)
W005 TOKENS_PER_CLIENT_PER_HOUR with a process-local cache and DEBUG off (each worker counts
     its own tokens)
W006 the default cache evicts entries early (LocMemCache with MAX_ENTRIES under 100,000, or
     DummyCache) and DEBUG is off: a flood of entries erases replay records and failure counts
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from oauth_cc.dpop import SUPPORTED_ALGORITHMS as DPOP_ALGORITHMS
from oauth_cc.keys import MIN_RSA_KEY_SIZE, SUPPORTED_ALGORITHMS
from oauth_cc.settings import DEFAULTS, oauth_cc_settings

# A client assertion's jti is remembered until its exp: a day bounds what that can cost.
MAX_ASSERTION_AGE = 86_400
# A DPoP proof's jti is remembered while its iat is within the window: an hour bounds it.
MAX_DPOP_PROOF_AGE = 3600
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "testserver"}
SECONDS_SETTINGS = ("LEEWAY_SECONDS", "JWKS_MAX_AGE", "JWKS_MIN_REFETCH_SECONDS",
                    "JWKS_FETCH_TIMEOUT", "STATE_TTL_SECONDS", "AUTH_FAILURE_WINDOW_SECONDS",
                    "SECRET_ROTATION_GRACE_SECONDS")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _url_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return "is not a string"
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an absolute http(s) URL"
    if parts.query or parts.fragment:
        return "has a query or fragment (RFC 8414 §2 forbids them)"
    return None


@register(Tags.security, Tags.compatibility)
def check_settings(app_configs: Sequence[AppConfig] | None = None,
                   **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    s = oauth_cc_settings
    user = getattr(settings, "OAUTH_CC", None)
    if user is not None and not isinstance(user, dict):
        return [Error("OAUTH_CC must be a dict.", id="oauth_cc.E003")]
    for name in sorted(set(user or {}) - set(DEFAULTS)):
        errors.append(Error(f"OAUTH_CC has an unknown key {name!r}.",
                            hint="See the settings reference in README.md.", id="oauth_cc.E003"))

    if not s.ISSUER:
        errors.append(Error("OAUTH_CC['ISSUER'] is required.",
                            hint='Set it to your site\'s URL, e.g. "https://api.example.com".',
                            id="oauth_cc.E001"))
    elif problem := _url_problem(s.ISSUER):
        errors.append(Error(f"OAUTH_CC['ISSUER'] {problem}.", id="oauth_cc.E002"))
    elif urlsplit(s.ISSUER).scheme == "http" and urlsplit(s.ISSUER).hostname not in LOCAL_HOSTS:
        errors.append(Warning("OAUTH_CC['ISSUER'] uses plain http on a public host.",
                              hint="RFC 8414 requires https; use http only in development.",
                              id="oauth_cc.W001"))

    default, maximum = s.DEFAULT_EXPIRES_IN, s.MAX_EXPIRES_IN
    if not _is_int(maximum) or maximum < 1:
        errors.append(Error("OAUTH_CC['MAX_EXPIRES_IN'] must be a positive integer.",
                            id="oauth_cc.E004"))
    elif not _is_int(default) or not 1 <= default <= maximum:
        errors.append(Error("OAUTH_CC['DEFAULT_EXPIRES_IN'] must be an integer from 1 to "
                            "MAX_EXPIRES_IN.", id="oauth_cc.E004"))

    if s.SIGNING_ALGORITHM not in SUPPORTED_ALGORITHMS:
        errors.append(Error(f"OAUTH_CC['SIGNING_ALGORITHM'] must be one of "
                            f"{', '.join(SUPPORTED_ALGORITHMS)}.", id="oauth_cc.E005"))
    if not _is_int(s.KEY_SIZE) or s.KEY_SIZE < MIN_RSA_KEY_SIZE or s.KEY_SIZE % 8:
        errors.append(Error(f"OAUTH_CC['KEY_SIZE'] must be a multiple of 8, at least "
                            f"{MIN_RSA_KEY_SIZE}.", id="oauth_cc.E006"))

    allowed = s.ALLOWED_ALGORITHMS
    if (not isinstance(allowed, list | tuple) or not allowed
            or any(a not in SUPPORTED_ALGORITHMS for a in allowed)):
        errors.append(Error(f"OAUTH_CC['ALLOWED_ALGORITHMS'] must be a non-empty list of "
                            f"{', '.join(SUPPORTED_ALGORITHMS)}.",
                            hint='"none" and HMAC algorithms are never accepted.',
                            id="oauth_cc.E007"))

    for name in SECONDS_SETTINGS:
        value = getattr(s, name)
        if not _is_number(value) or value < 0:
            errors.append(Error(f"OAUTH_CC['{name}'] must be a number of seconds, 0 or more.",
                                id="oauth_cc.E008"))

    if s.AUDIENCE is not None and (not isinstance(s.AUDIENCE, str) or not s.AUDIENCE):
        errors.append(Error("OAUTH_CC['AUDIENCE'] must be a non-empty string or None.",
                            id="oauth_cc.E009"))
    if s.JWKS_URL is not None and (problem := _url_problem(s.JWKS_URL)):
        errors.append(Error(f"OAUTH_CC['JWKS_URL'] {problem}.", id="oauth_cc.E010"))

    for name in ("KEY_ENCRYPTION_KEYS", "SECRET_HASH_KEYS"):
        value = getattr(s, name)
        if value is None:
            continue
        items = [value] if isinstance(value, str) else value
        if (not isinstance(items, list | tuple) or not items
                or any(not isinstance(i, str) or len(i) < 32 for i in items)):
            errors.append(Error(f"OAUTH_CC['{name}'] must be a string or a list of strings of "
                                f"at least 32 characters.", id="oauth_cc.E011"))

    renderer: object = s.ERROR_RENDERER
    if isinstance(renderer, str):
        try:
            renderer = import_string(renderer)
        except ImportError as e:
            errors.append(Error(f"OAUTH_CC['ERROR_RENDERER'] cannot be imported: {e}",
                                id="oauth_cc.E013"))
            renderer = None
        else:
            if not callable(renderer):
                errors.append(Error("OAUTH_CC['ERROR_RENDERER'] is not callable.",
                                    id="oauth_cc.E013"))
    elif not callable(renderer):
        errors.append(Error("OAUTH_CC['ERROR_RENDERER'] must be a callable or its dotted path.",
                            id="oauth_cc.E013"))
    if not isinstance(s.REALM, str) or not s.REALM or '"' in s.REALM or "\\" in s.REALM:
        errors.append(Error("OAUTH_CC['REALM'] must be a non-empty string without quotes or "
                            "backslashes.", id="oauth_cc.E014"))

    for name in ("TRUSTED_PROXIES", "AUTH_FAILURES_PER_CLIENT", "AUTH_FAILURES_PER_ADDRESS"):
        value = getattr(s, name)
        if not _is_int(value) or value < 0:
            errors.append(Error(f"OAUTH_CC['{name}'] must be an integer, 0 or more.",
                                id="oauth_cc.E012"))
    if (not _is_int(s.ASSERTION_MAX_AGE_SECONDS)
            or not 1 <= s.ASSERTION_MAX_AGE_SECONDS <= MAX_ASSERTION_AGE):
        errors.append(Error(f"OAUTH_CC['ASSERTION_MAX_AGE_SECONDS'] must be an integer from 1 "
                            f"to {MAX_ASSERTION_AGE}.",
                            hint="How far ahead a private_key_jwt client assertion may expire; "
                                 "the default is 3600.", id="oauth_cc.E018"))
    errors.extend(check_failure_total())
    errors.extend(check_portal())
    errors.extend(check_cache())
    errors.extend(check_cache_evictions())
    errors.extend(check_dpop())
    errors.extend(check_token_quota())
    return errors


def _callable_problem(value: object) -> str | None:
    """Why ``value`` is neither a callable nor the dotted path of one, or None."""
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as e:
            return f"cannot be imported: {e}"
        return None if callable(value) else "is not callable"
    return None if callable(value) else "must be a callable or its dotted path"


def check_portal() -> list[CheckMessage]:
    """E016 and E017: the customer portal's settings."""
    errors: list[CheckMessage] = []
    s = oauth_cc_settings
    if s.PORTAL_PROJECTS is not None and (problem := _callable_problem(s.PORTAL_PROJECTS)):
        errors.append(Error(f"OAUTH_CC['PORTAL_PROJECTS'] {problem}.",
                            hint="None, or a function request -> QuerySet[Project] (or its "
                                 "dotted path).", id="oauth_cc.E016"))
    if not _is_int(s.PORTAL_MAX_CLIENTS) or s.PORTAL_MAX_CLIENTS < 1:
        errors.append(Error("OAUTH_CC['PORTAL_MAX_CLIENTS'] must be an integer, 1 or more.",
                            id="oauth_cc.E017"))
    return errors


def check_failure_total() -> list[CheckMessage]:
    """E015: the per-client total must exceed what one address may fail for that client, or
    one address alone could lock the client out everywhere (the contract forbids that)."""
    s = oauth_cc_settings
    total = s.AUTH_FAILURES_PER_CLIENT_TOTAL
    per_address = [v for v in (s.AUTH_FAILURES_PER_CLIENT, s.AUTH_FAILURES_PER_ADDRESS)
                   if _is_int(v) and v > 0]
    if not _is_int(total) or total < 0:
        problem = "must be an integer, 0 or more"
    elif total and per_address and total <= min(per_address):
        problem = (f"must be 0 (off) or more than the {min(per_address)} failures one address "
                   f"may make")
    else:
        return []
    return [Error(f"OAUTH_CC['AUTH_FAILURES_PER_CLIENT_TOTAL'] {problem}.",
                  hint="Past it a client id is refused from every address; the default is "
                       "1000.", id="oauth_cc.E015")]


def check_dpop() -> list[CheckMessage]:
    """E019-E020 and W003-W004: DPoP (RFC 9449), which every site serves: the token endpoint
    binds tokens, and ``BearerJWTAuthentication`` checks proofs, in remote mode too."""
    errors: list[CheckMessage] = []
    s = oauth_cc_settings
    algorithms = s.DPOP_ALGORITHMS
    if (not isinstance(algorithms, list | tuple) or not algorithms
            or any(a not in DPOP_ALGORITHMS for a in algorithms)):
        errors.append(Error(f"OAUTH_CC['DPOP_ALGORITHMS'] must be a non-empty list of "
                            f"{', '.join(DPOP_ALGORITHMS)}.",
                            hint='"none" and HMAC algorithms never prove a key; the default is '
                                 '["ES256", "RS256", "PS256", "EdDSA"].', id="oauth_cc.E019"))
    if (not _is_int(s.DPOP_PROOF_MAX_AGE_SECONDS)
            or not 1 <= s.DPOP_PROOF_MAX_AGE_SECONDS <= MAX_DPOP_PROOF_AGE):
        errors.append(Error(f"OAUTH_CC['DPOP_PROOF_MAX_AGE_SECONDS'] must be an integer from 1 "
                            f"to {MAX_DPOP_PROOF_AGE}.",
                            hint="How far from now a DPoP proof's iat may be; the default is 60.",
                            id="oauth_cc.E020"))
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PROCESS_LOCAL_CACHES and not settings.DEBUG and s.JWKS_URL:
        errors.append(Warning(
            "The default cache is process-local: a DPoP proof's jti is remembered by one "
            "worker only, so a proof replayed to another worker within its window is not "
            "caught.", hint="Use a shared cache such as Redis when several processes serve "
            "the API.", id="oauth_cc.W003"))
    issuer = s.ISSUER if isinstance(s.ISSUER, str) else ""
    if (_is_int(s.TRUSTED_PROXIES) and s.TRUSTED_PROXIES > 0 and issuer.startswith("https:")
            and not getattr(settings, "SECURE_PROXY_SSL_HEADER", None)):
        errors.append(Warning(
            "OAUTH_CC['TRUSTED_PROXIES'] says requests come through a proxy, but Django is not "
            "told how that proxy marks https requests: request.build_absolute_uri() builds "
            "http:// URLs, so DPoP proofs for the https URL the client called are refused.",
            hint="Set SECURE_PROXY_SSL_HEADER (and USE_X_FORWARDED_HOST if the proxy changes "
                 "the Host header), as Django's deployment checklist says.", id="oauth_cc.W004"))
    return errors


PROCESS_LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache",
                        "django.core.cache.backends.dummy.DummyCache")


def check_token_quota() -> list[CheckMessage]:
    """E021 and W005: the token issuance quota (CONTRACT §14)."""
    quota = oauth_cc_settings.TOKENS_PER_CLIENT_PER_HOUR
    if quota is not None and (not _is_int(quota) or quota < 1):
        return [Error("OAUTH_CC['TOKENS_PER_CLIENT_PER_HOUR'] must be None (no limit) or an "
                      "integer, 1 or more.", id="oauth_cc.E021")]
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if quota is not None and backend in PROCESS_LOCAL_CACHES and not settings.DEBUG:
        return [Warning(
            "The default cache is process-local: each worker counts the tokens it issues on "
            "its own, so a client may get TOKENS_PER_CLIENT_PER_HOUR tokens from every worker.",
            hint="Use a shared cache such as Redis when several processes serve the token "
                 "endpoint.", id="oauth_cc.W005")]
    return []


# LocMemCache's default is 300 entries, after which it drops a third of them. Replay records
# live up to DPOP_PROOF_MAX_AGE_SECONDS (or an assertion's lifetime) and failure counts a whole
# AUTH_FAILURE_WINDOW_SECONDS: 100,000 entries hold ~1,600 DPoP requests a second for a minute.
MIN_LOCAL_CACHE_ENTRIES = 100_000


def check_cache_evictions() -> list[CheckMessage]:
    """W006: a cache that forgets early forgets what keeps replays and guessing out."""
    if settings.DEBUG:
        return []
    cache: dict[str, Any] = settings.CACHES.get("default", {})
    backend = cache.get("BACKEND", "")
    if backend == "django.core.cache.backends.dummy.DummyCache":
        remembered = "remembers nothing"
    elif backend == "django.core.cache.backends.locmem.LocMemCache":
        entries = (cache.get("OPTIONS") or {}).get("MAX_ENTRIES", 300)
        if _is_int(entries) and entries >= MIN_LOCAL_CACHE_ENTRIES:
            return []
        remembered = f"drops entries once it holds {entries}"
    else:
        return []
    return [Warning(
        f"The default cache {remembered}: the records that refuse a replayed DPoP proof or "
        "client assertion, and the counts of failed client authentications, can be erased "
        "before they expire by anyone who makes the server store many entries (failed token "
        "requests with made-up client ids will do).",
        hint=f'Use Redis, or give LocMemCache OPTIONS {{"MAX_ENTRIES": '
             f'{MIN_LOCAL_CACHE_ENTRIES}}} or more.', id="oauth_cc.W006")]


def check_cache() -> list[CheckMessage]:
    """W002, for sites that serve the token endpoint (a remote-mode resource server does not)."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PROCESS_LOCAL_CACHES and not settings.DEBUG and not oauth_cc_settings.JWKS_URL:
        return [Warning(
            "The default cache is process-local: each worker counts failed client "
            "authentications on its own, so brute-force limits multiply by the number of "
            "processes.", hint="Use a shared cache such as Redis (django.core.cache.backends."
            "redis.RedisCache) when several processes serve the token endpoint.",
            id="oauth_cc.W002")]
    return []
