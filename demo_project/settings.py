"""Settings of the demo: an address-API provider built on django-oauth-cc.

Environment: ``DATABASE_URL`` (postgres://... or sqlite:///path; default SQLite file in the
repository), ``REDIS_URL`` (default: local-memory cache), ``OAUTH_CC_ISSUER`` (default
http://127.0.0.1:8000), ``OAUTH_CC_AUTH_FAILURES_PER_ADDRESS``, ``DJANGO_SECRET_KEY``,
``DJANGO_DEBUG``.

Without ``DJANGO_SECRET_KEY`` the secret key is generated once per checkout and kept in the
git-ignored ``demo_project/.secret_key``; nothing secret is committed. This is a development
set-up (DEBUG on by default): it says so at start-up, and is not meant to be deployed as it is.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY_FILE = BASE_DIR / "demo_project" / ".secret_key"


def checkout_secret_key(path: Path = SECRET_KEY_FILE) -> str:
    """This checkout's own secret key, made on first use and kept in a git-ignored file.

    Private signing keys and secret hashes are keyed by SECRET_KEY, so a key committed to the
    repository would let anyone with a copy of a demo database forge its tokens. Two processes
    starting at once agree on one key: the file appears whole (a hard link) or not at all.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    candidate = path.with_name(f"{path.name}.{os.getpid()}")
    candidate.write_text(secrets.token_urlsafe(50) + "\n")
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass  # another process made it first: use that one
    finally:
        candidate.unlink()
    return path.read_text().strip()


# DJANGO_SECRET_KEY when set (a deployment sets it); otherwise this checkout's own key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or checkout_secret_key()
# The demo is a development server; apps.py says so at start-up while DEBUG is on or the key
# is the checkout's own.
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
DEVELOPMENT_SETUP = DEBUG or not os.environ.get("DJANGO_SECRET_KEY")
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
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: no CDN
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
    # Django's Redis backend, without a new client per operation and with one-trip incr.
    CACHES = {"default": {"BACKEND": "oauth_cc.redis_cache.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"]}}
else:
    # One process only: counts and replay records are not shared (W002). Room for them all
    # (Django's default of 300 entries would let a flood erase them: W006).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "OPTIONS": {"MAX_ENTRIES": 100_000}}}

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
    # OpenAPI by drf-spectacular: the schema at /api/schema/, Swagger UI at /api/docs/.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Demo address API",
    "DESCRIPTION": ("The demo's fake address, phone and e-mail APIs. Click Authorize, enter "
                    "the client id and secret `make demo` printed, then try an operation."),
    "VERSION": "1.0.0",
    # The address API only (demo_project/openapi.py): not the schema endpoint, nor the
    # portal's JSON API, which a signed-in customer's browser calls.
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["demo_project.openapi.address_api_only"],
    # Swagger UI's own files from drf-spectacular-sidecar, through staticfiles.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Authorize's clientCredentials flow posts grant_type and scope to the scheme's tokenUrl
    # with the client id and secret as HTTP Basic (client_secret_basic), which the token
    # endpoint accepts; no additionalQueryStringParams, since credentials or parameters in
    # the token endpoint's query are refused. The token stays in the page: not persisted
    # to localStorage.
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "persistAuthorization": False,
        "displayRequestDuration": True,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# Customers log in at /accounts/login/ and land in the portal (oauth_cc.portal).
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/portal/"
LOGOUT_REDIRECT_URL = "/"

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
