"""The demo issuer as the system test runs it: the demo's settings with short windows.

Environment as for ``demo_project.settings`` (``DATABASE_URL``, ``REDIS_URL``,
``OAUTH_CC_ISSUER`` = the server's real URL), plus ``OAUTH_CC_SYSTEM_CACHE_PREFIX`` so that
the run's cache keys in the shared Redis are its own.
"""

from __future__ import annotations

import os

from demo_project.settings import *  # noqa: F403
from demo_project.settings import CACHES, OAUTH_CC
from tests.system.timing import JWKS_MAX_AGE, STATE_TTL_SECONDS

OAUTH_CC = {**OAUTH_CC, "STATE_TTL_SECONDS": STATE_TTL_SECONDS, "JWKS_MAX_AGE": JWKS_MAX_AGE}

CACHES = {"default": {**CACHES["default"],
                      "KEY_PREFIX": os.environ.get("OAUTH_CC_SYSTEM_CACHE_PREFIX", "")}}
