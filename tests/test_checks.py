"""Every system check id fires for its problem, and the defaults pass."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import override_settings

from oauth_cc.checks import check_settings
from oauth_cc.settings import oauth_cc_settings

BASE = {"ISSUER": "https://issuer.test"}


def ids(**overrides):
    with override_settings(OAUTH_CC={**BASE, **overrides}):
        return sorted({m.id for m in check_settings()})


def test_defaults_pass(settings):
    settings.DEBUG = True  # W002 is about production caches: see below
    assert ids() == []


def test_manage_py_check_passes_on_the_test_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0"}}
    call_command("check", "--fail-level", "WARNING")


@pytest.mark.parametrize(("backend", "debug", "expected"), [
    ("django.core.cache.backends.locmem.LocMemCache", False, ["oauth_cc.W002", "oauth_cc.W006"]),
    ("django.core.cache.backends.dummy.DummyCache", False, ["oauth_cc.W002", "oauth_cc.W006"]),
    ("django.core.cache.backends.locmem.LocMemCache", True, []),
    ("django.core.cache.backends.redis.RedisCache", False, []),
    ("oauth_cc.redis_cache.RedisCache", False, []),
    ("django.core.cache.backends.db.DatabaseCache", False, []),
])
def test_process_local_cache_warning(settings, backend, debug, expected):
    settings.DEBUG = debug
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "x"}}
    assert ids() == expected


@pytest.mark.parametrize(("backend", "debug", "expected"), [
    ("django.core.cache.backends.locmem.LocMemCache", False,
     ["oauth_cc.W002", "oauth_cc.W005", "oauth_cc.W006"]),
    ("django.core.cache.backends.locmem.LocMemCache", True, []),
    ("django.core.cache.backends.redis.RedisCache", False, []),
    ("oauth_cc.redis_cache.RedisCache", False, []),
])
def test_a_token_quota_needs_a_shared_cache(settings, backend, debug, expected):
    settings.DEBUG = debug
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "x"}}
    assert ids(TOKENS_PER_CLIENT_PER_HOUR=100) == expected


def test_good_token_quotas_pass(settings):
    settings.DEBUG = True
    assert ids(TOKENS_PER_CLIENT_PER_HOUR=None) == ids(TOKENS_PER_CLIENT_PER_HOUR=1) == []


def test_remote_mode_warns_only_that_dpop_replays_are_not_shared(settings):
    """No brute-force counts there (W002), but DPoP proofs' jti are remembered (W003)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "OPTIONS": {"MAX_ENTRIES": 100_000}}}
    assert ids(JWKS_URL="https://issuer.test/.well-known/jwks.json") == ["oauth_cc.W003"]


@pytest.mark.parametrize(("backend", "debug", "expected"), [
    ("django.core.cache.backends.locmem.LocMemCache", False, ["oauth_cc.W003", "oauth_cc.W006"]),
    ("django.core.cache.backends.dummy.DummyCache", False, ["oauth_cc.W003", "oauth_cc.W006"]),
    ("django.core.cache.backends.locmem.LocMemCache", True, []),
    ("django.core.cache.backends.redis.RedisCache", False, []),
    ("oauth_cc.redis_cache.RedisCache", False, []),
])
def test_remote_mode_dpop_replay_cache_warning(settings, backend, debug, expected):
    settings.DEBUG = debug
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "x"}}
    assert ids(JWKS_URL="https://issuer.test/.well-known/jwks.json") == expected


@pytest.mark.parametrize(("cache", "expected"), [
    ({"OPTIONS": {"MAX_ENTRIES": 100_000}}, []),
    ({"OPTIONS": {"MAX_ENTRIES": 1_000_000, "CULL_FREQUENCY": 3}}, []),
    ({"OPTIONS": {"MAX_ENTRIES": 99_999}}, ["oauth_cc.W006"]),
    ({"OPTIONS": {}}, ["oauth_cc.W006"]),  # Django's 300
    ({"OPTIONS": None}, ["oauth_cc.W006"]),
    ({"OPTIONS": {"MAX_ENTRIES": "lots"}}, ["oauth_cc.W006"]),
])
def test_a_local_cache_that_evicts_early_is_warned_about(settings, cache, expected):
    """W006: LocMemCache drops a third of its entries once full, the oldest first, so a flood
    of failed token requests would erase replay records and failure counts."""
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   **cache}}
    with override_settings(OAUTH_CC={**BASE, "JWKS_URL": None}):
        from oauth_cc.checks import check_cache_evictions

        assert [m.id for m in check_cache_evictions()] == expected


def test_a_full_local_cache_forgets_a_dpop_replay_record(settings):
    """Why W006 exists: with Django's default of 300 entries, the jti of a used proof is gone
    once an attacker has made the server store 300 others, and the proof works again."""
    from django.core.cache import cache

    from oauth_cc import dpop

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "w006"}}
    dpop._use_once("jkt", "the-jti", 1e9, 1e9)
    with pytest.raises(dpop.InvalidProof):
        dpop._use_once("jkt", "the-jti", 1e9, 1e9)
    for i in range(300):  # e.g. failure counts of made-up client ids
        cache.set(f"flood:{i}", 1, 60)
    dpop._use_once("jkt", "the-jti", 1e9, 1e9)  # accepted again: the record was culled


def test_missing_oauth_cc_setting(settings):
    settings.DEBUG = True
    # Django sends no setting_changed for a deletion, nor when the setting comes back: reload
    # by hand both ways, or later tests would run without an ISSUER.
    with override_settings():
        del django_settings.OAUTH_CC
        oauth_cc_settings.reload()
        ids = [m.id for m in check_settings()]
    oauth_cc_settings.reload()
    assert ids == ["oauth_cc.E001"]


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"ISSUER": None}, "oauth_cc.E001"),
    ({"ISSUER": ""}, "oauth_cc.E001"),
    ({"ISSUER": "api.example.com"}, "oauth_cc.E002"),
    ({"ISSUER": "ftp://api.example.com"}, "oauth_cc.E002"),
    ({"ISSUER": "https://api.example.com/?x=1"}, "oauth_cc.E002"),
    ({"ISSUER": "https://api.example.com/#f"}, "oauth_cc.E002"),
    ({"ISSUER": 42}, "oauth_cc.E002"),
    ({"ISSUR": "typo"}, "oauth_cc.E003"),
    ({"MAX_EXPIRES_IN": 0}, "oauth_cc.E004"),
    ({"MAX_EXPIRES_IN": "3600"}, "oauth_cc.E004"),
    ({"DEFAULT_EXPIRES_IN": 7200}, "oauth_cc.E004"),
    ({"DEFAULT_EXPIRES_IN": True}, "oauth_cc.E004"),
    ({"SIGNING_ALGORITHM": "HS256"}, "oauth_cc.E005"),
    ({"SIGNING_ALGORITHM": "none"}, "oauth_cc.E005"),
    ({"KEY_SIZE": 1024}, "oauth_cc.E006"),
    ({"KEY_SIZE": 2049}, "oauth_cc.E006"),
    ({"ALLOWED_ALGORITHMS": ["RS256", "HS256"]}, "oauth_cc.E007"),
    ({"ALLOWED_ALGORITHMS": ["none"]}, "oauth_cc.E007"),
    ({"ALLOWED_ALGORITHMS": []}, "oauth_cc.E007"),
    ({"ALLOWED_ALGORITHMS": "RS256"}, "oauth_cc.E007"),
    ({"LEEWAY_SECONDS": -1}, "oauth_cc.E008"),
    ({"JWKS_MAX_AGE": "300"}, "oauth_cc.E008"),
    ({"STATE_TTL_SECONDS": None}, "oauth_cc.E008"),
    ({"AUDIENCE": ""}, "oauth_cc.E009"),
    ({"AUDIENCE": ["a", "b"]}, "oauth_cc.E009"),
    ({"JWKS_URL": "/jwks.json"}, "oauth_cc.E010"),
    ({"KEY_ENCRYPTION_KEYS": "short"}, "oauth_cc.E011"),
    ({"SECRET_HASH_KEYS": []}, "oauth_cc.E011"),
    ({"SECRET_HASH_KEYS": [b"x" * 40]}, "oauth_cc.E011"),
    ({"TRUSTED_PROXIES": -1}, "oauth_cc.E012"),
    ({"AUTH_FAILURES_PER_CLIENT": 2.5}, "oauth_cc.E012"),
    ({"AUTH_FAILURES_PER_CLIENT_TOTAL": -1}, "oauth_cc.E015"),
    ({"AUTH_FAILURES_PER_CLIENT_TOTAL": 2.5}, "oauth_cc.E015"),
    ({"AUTH_FAILURES_PER_CLIENT_TOTAL": None}, "oauth_cc.E015"),
    # At most what one address may fail: that address alone could block the client everywhere.
    ({"AUTH_FAILURES_PER_CLIENT_TOTAL": 10}, "oauth_cc.E015"),
    ({"AUTH_FAILURES_PER_CLIENT": 0, "AUTH_FAILURES_PER_CLIENT_TOTAL": 100}, "oauth_cc.E015"),
    ({"ERROR_RENDERER": "no.such.module.render"}, "oauth_cc.E013"),
    ({"ERROR_RENDERER": "oauth_cc.bearer_errors.INVALID_TOKEN_CODE"}, "oauth_cc.E013"),
    ({"ERROR_RENDERER": 42}, "oauth_cc.E013"),
    ({"REALM": ""}, "oauth_cc.E014"),
    ({"REALM": 'a"b'}, "oauth_cc.E014"),
    ({"PORTAL_PROJECTS": "no.such.module.projects"}, "oauth_cc.E016"),
    ({"PORTAL_PROJECTS": "oauth_cc.settings.DEFAULTS"}, "oauth_cc.E016"),
    ({"PORTAL_PROJECTS": 42}, "oauth_cc.E016"),
    ({"PORTAL_MAX_CLIENTS": 0}, "oauth_cc.E017"),
    ({"PORTAL_MAX_CLIENTS": "20"}, "oauth_cc.E017"),
    ({"PORTAL_MAX_CLIENTS": None}, "oauth_cc.E017"),
    ({"PORTAL_MAX_CLIENTS": True}, "oauth_cc.E017"),
    ({"ASSERTION_MAX_AGE_SECONDS": 0}, "oauth_cc.E018"),
    ({"ASSERTION_MAX_AGE_SECONDS": -60}, "oauth_cc.E018"),
    ({"ASSERTION_MAX_AGE_SECONDS": 86_401}, "oauth_cc.E018"),
    ({"ASSERTION_MAX_AGE_SECONDS": "3600"}, "oauth_cc.E018"),
    ({"ASSERTION_MAX_AGE_SECONDS": 60.5}, "oauth_cc.E018"),
    ({"ASSERTION_MAX_AGE_SECONDS": None}, "oauth_cc.E018"),
    ({"ASSERTION_MAX_AGE_SECONDS": True}, "oauth_cc.E018"),
    ({"DPOP_ALGORITHMS": []}, "oauth_cc.E019"),
    ({"DPOP_ALGORITHMS": "ES256"}, "oauth_cc.E019"),
    ({"DPOP_ALGORITHMS": ["ES256", "HS256"]}, "oauth_cc.E019"),
    ({"DPOP_ALGORITHMS": ["none"]}, "oauth_cc.E019"),
    ({"DPOP_ALGORITHMS": ["ES384"]}, "oauth_cc.E019"),
    ({"TOKENS_PER_CLIENT_PER_HOUR": 0}, "oauth_cc.E021"),
    ({"TOKENS_PER_CLIENT_PER_HOUR": -5}, "oauth_cc.E021"),
    ({"TOKENS_PER_CLIENT_PER_HOUR": "100"}, "oauth_cc.E021"),
    ({"TOKENS_PER_CLIENT_PER_HOUR": 10.5}, "oauth_cc.E021"),
    ({"TOKENS_PER_CLIENT_PER_HOUR": True}, "oauth_cc.E021"),
    ({"DPOP_PROOF_MAX_AGE_SECONDS": 0}, "oauth_cc.E020"),
    ({"DPOP_PROOF_MAX_AGE_SECONDS": 3601}, "oauth_cc.E020"),
    ({"DPOP_PROOF_MAX_AGE_SECONDS": "60"}, "oauth_cc.E020"),
    ({"DPOP_PROOF_MAX_AGE_SECONDS": 1.5}, "oauth_cc.E020"),
    ({"DPOP_PROOF_MAX_AGE_SECONDS": None}, "oauth_cc.E020"),
    ({"DPOP_PROOF_MAX_AGE_SECONDS": True}, "oauth_cc.E020"),
    ({"ISSUER": "http://api.example.com"}, "oauth_cc.W001"),
])
def test_each_check_id(settings, overrides, expected):
    settings.DEBUG = True
    assert ids(**overrides) == [expected]


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000", "http://localhost:8000",
                                    "https://api.example.com", "https://api.example.com/v1"])
def test_good_issuers(settings, issuer):
    settings.DEBUG = True
    assert ids(ISSUER=issuer) == []


@pytest.mark.parametrize("overrides", [
    {"AUTH_FAILURES_PER_CLIENT_TOTAL": 0},
    {"AUTH_FAILURES_PER_CLIENT_TOTAL": 11},
    {"AUTH_FAILURES_PER_CLIENT": 0, "AUTH_FAILURES_PER_CLIENT_TOTAL": 101},
    # Nothing bounds one address, so no total is too low.
    {"AUTH_FAILURES_PER_CLIENT": 0, "AUTH_FAILURES_PER_ADDRESS": 0,
     "AUTH_FAILURES_PER_CLIENT_TOTAL": 5},
])
def test_good_failure_totals(settings, overrides):
    settings.DEBUG = True
    assert ids(**overrides) == []


@pytest.mark.parametrize("overrides", [
    {"PORTAL_PROJECTS": None},
    {"PORTAL_PROJECTS": "oauth_cc.portal.access.members_projects"},
    {"PORTAL_PROJECTS": lambda request: None},
    {"PORTAL_MAX_CLIENTS": 1},
])
def test_good_portal_settings(settings, overrides):
    settings.DEBUG = True
    assert ids(**overrides) == []


@pytest.mark.parametrize("seconds", [1, 60, 3600, 86_400])
def test_good_assertion_max_ages(settings, seconds):
    settings.DEBUG = True
    assert ids(ASSERTION_MAX_AGE_SECONDS=seconds) == []


@override_settings(OAUTH_CC=["not", "a", "dict"], DEBUG=True)
def test_oauth_cc_must_be_a_dict():
    assert [m.id for m in check_settings()] == ["oauth_cc.E003"]


def test_check_ids_are_unique_per_problem_and_documented():
    import oauth_cc.checks as module

    documented = set(module.__doc__.split()) if module.__doc__ else set()
    for check_id in ("E001", "E002", "E003", "E004", "E005", "E006", "E007", "E008", "E009",
                     "E010", "E011", "E012", "E013", "E014", "E015", "E016", "E017", "E018",
                     "E019", "E020",
                     "W001",
                     "W002", "W003", "W004", "W005", "W006"):
        assert check_id in documented


@pytest.mark.parametrize("overrides", [
    {"DPOP_ALGORITHMS": ["ES256"]},
    {"DPOP_ALGORITHMS": ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")},
    {"DPOP_PROOF_MAX_AGE_SECONDS": 1},
    {"DPOP_PROOF_MAX_AGE_SECONDS": 3600},
])
def test_good_dpop_settings(settings, overrides):
    settings.DEBUG = True
    assert ids(**overrides) == []


@pytest.mark.parametrize(("issuer", "proxies", "ssl_header", "expected"), [
    ("https://api.example.com", 1, None, ["oauth_cc.W004"]),
    ("https://api.example.com", 1, ("HTTP_X_FORWARDED_PROTO", "https"), []),
    ("https://api.example.com", 0, None, []),
    ("http://127.0.0.1:8000", 1, None, []),
])
def test_a_trusted_proxy_without_secure_proxy_ssl_header(settings, issuer, proxies, ssl_header,
                                                         expected):
    """DPoP's htu is the URL Django builds: behind a TLS proxy it needs SECURE_PROXY_SSL_HEADER."""
    settings.DEBUG = True
    settings.SECURE_PROXY_SSL_HEADER = ssl_header
    assert ids(ISSUER=issuer, TRUSTED_PROXIES=proxies) == expected
