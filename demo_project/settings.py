"""Settings of the demo: an address-API provider built on django-oauth-cc.

Environment: ``DATABASE_URL`` (postgres://... or sqlite:///path; default SQLite file in the
repository), ``REDIS_URL`` (default: local-memory cache), ``OAUTH_CC_ISSUER`` (default
http://127.0.0.1:8000), ``OAUTH_CC_AUTH_FAILURES_PER_ADDRESS``, ``DJANGO_SECRET_KEY``,
``DJANGO_DEBUG``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

# A development key: the demo is not a production deployment. Set DJANGO_SECRET_KEY to use
# your own; private signing keys are encrypted under it.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-key-change-me-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"] + [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth_cc",
    "demo_project.addresses",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_project.urls"
WSGI_APPLICATION = "demo_project.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]


def database_from_url(url: str | None) -> dict[str, object]:
    """A DATABASES entry for ``postgres://user:pass@host:port/name`` or ``sqlite:///path``."""
    # Connections persist (CONN_MAX_AGE) for both engines: opening one per request would
    # cost more than a whole token request.
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "demo.sqlite3",
                "CONN_MAX_AGE": 60}
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            # Bind parameters on the server and let psycopg prepare repeated statements: the
            # token endpoint's one query then skips planning, which cost more than running it.
            # (Behind PgBouncer in transaction mode, this needs PgBouncer 1.21 or later.)
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": 2},
        }
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path) or ":memory:",
                "CONN_MAX_AGE": 60}
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r}")


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"))}

if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

OAUTH_CC: dict[str, object] = {
    "ISSUER": os.environ.get("OAUTH_CC_ISSUER", "http://127.0.0.1:8000"),
    # The API's errors in the product document's format (demo_project/addresses/errors.py).
    "ERROR_RENDERER": "demo_project.addresses.errors.seed_error",
}
if os.environ.get("OAUTH_CC_AUTH_FAILURES_PER_ADDRESS"):
    OAUTH_CC["AUTH_FAILURES_PER_ADDRESS"] = int(os.environ["OAUTH_CC_AUTH_FAILURES_PER_ADDRESS"])

# The address API speaks JSON only (?format=json picks the JSONRenderer); its callers are
# OAuth clients, never Django users.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"oauth_cc": {"handlers": ["console"], "level": "INFO"}},
}
