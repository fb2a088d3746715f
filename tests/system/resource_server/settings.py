"""A resource server in another service: remote mode, and no database at all.

It verifies the issuer's tokens against the JWK Set at ``JWKS_URL`` and never sees the
issuer's database. ``DATABASES`` is empty, so Django's dummy backend answers any query with
an error (a 500): the system test thereby proves that remote-mode verification makes none.
``oauth_cc`` is installed only for its system checks; it needs no tables here.

Environment: ``OAUTH_CC_ISSUER``, the issuer's URL; ``OAUTH_CC_SYSTEM_RS_REDIS_URL``, the
Redis its workers share, and ``OAUTH_CC_SYSTEM_CACHE_PREFIX``.
"""

from __future__ import annotations

import os

from tests.system.timing import RS_JWKS_MIN_REFETCH_SECONDS, RS_LEEWAY_SECONDS

ISSUER = os.environ["OAUTH_CC_ISSUER"]

SECRET_KEY = "system-test-resource-server-not-a-secret-0000000000000000"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "tests.system.resource_server.urls"
WSGI_APPLICATION = "tests.system.resource_server.wsgi.application"
# oauth_cc's models relate to AUTH_USER_MODEL (Project.members, for the customer portal), so
# its app must be installed for the model checks, though nothing here reads it.
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "rest_framework",
                  "oauth_cc"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, dict[str, object]] = {}

OAUTH_CC = {
    "ISSUER": ISSUER,
    "AUDIENCE": ISSUER,
    "JWKS_URL": ISSUER + "/.well-known/jwks.json",
    "JWKS_MIN_REFETCH_SECONDS": RS_JWKS_MIN_REFETCH_SECONDS,
    "LEEWAY_SECONDS": RS_LEEWAY_SECONDS,
}
# Its workers share one Redis, as a deployment's would: a DPoP proof's jti is remembered
# there, so a proof replayed to another worker is caught (system check W003).
CACHES = {"default": {"BACKEND": "oauth_cc.redis_cache.RedisCache",
                      "LOCATION": os.environ["OAUTH_CC_SYSTEM_RS_REDIS_URL"],
                      "KEY_PREFIX": os.environ.get("OAUTH_CC_SYSTEM_CACHE_PREFIX", "")}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
