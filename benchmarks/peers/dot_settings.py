"""The demo's settings plus django-oauth-toolkit, at its defaults but for the scopes.

DOT's defaults are what is measured: client secrets hashed with Django's first password
hasher (PBKDF2-SHA256, 1,000,000 iterations on Django 5.2), an ``AccessToken`` row written per
token request, a query per authenticated API request. The benchmark also creates an
``Application`` with ``hash_client_secret=False``, DOT's own switch for the fast path.
"""

from demo_project.settings import *  # noqa: F403
from demo_project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "oauth2_provider"]
ROOT_URLCONF = "benchmarks.peers.dot_urls"

OAUTH2_PROVIDER = {
    "SCOPES": {
        "address": "Access to address autocomplete, verification, and metadata APIs",
        "phone": "Access to phone verification API",
        "email": "Access to email verification API",
    },
    # The lifetime oauth_cc issues by default; DOT's own default is 10 hours.
    "ACCESS_TOKEN_EXPIRE_SECONDS": 900,
}
