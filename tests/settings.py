"""Settings for oauth_cc's own test suite (not the demo's).

SQLite in memory and the local-memory cache by default; ``DATABASE_URL`` (postgres://...) and
``REDIS_URL`` switch to PostgreSQL and Redis for the same suite.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

import django

SECRET_KEY = "test-only-secret-key-not-for-production-0000000000000000"
DEBUG = False
if django.VERSION >= (6, 1):
    # Django 6.1 warns when mail is sent without MAILERS (the tests e-mail error reports);
    # its test runner swaps in the locmem backend either way.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
USE_TZ = True
ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "oauth_cc",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
# One process runs the suite, and nobody floods its cache; test_checks.py tests W002 and W006
# themselves.
SILENCED_SYSTEM_CHECKS = ["oauth_cc.W002", "oauth_cc.W006"]

OAUTH_CC: dict[str, object] = {"ISSUER": "https://issuer.test"}
if os.environ.get("OAUTH_CC_TEST_STATE_TTL"):  # the two-process test shortens the wait
    OAUTH_CC["STATE_TTL_SECONDS"] = int(os.environ["OAUTH_CC_TEST_STATE_TTL"])


def _database(url: str | None) -> dict[str, object]:
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/") or "test",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "TEST": {"NAME": "test_oauth_cc_" + os.environ.get("PYTEST_XDIST_WORKER", "main")},
        }
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parts.path or ":memory:"}
    raise ValueError(f"Unsupported DATABASE_URL scheme {parts.scheme!r}")


DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}

if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "oauth_cc.redis_cache.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": "oauth_cc_tests"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"oauth_cc": {"handlers": ["null"], "propagate": True}},
}
