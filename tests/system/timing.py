"""The timing of the system test, shared by its settings modules and the test itself.

Short on purpose, so that every window of the design (a worker noticing a rotation or a
disabled client, a resource server refreshing its JWK Set) closes several times within the run.
"""

from __future__ import annotations

# The issuer (tests/system/issuer_settings.py).
STATE_TTL_SECONDS = 2
JWKS_MAX_AGE = 3

# The remote resource server (tests/system/resource_server/settings.py).
RS_JWKS_MIN_REFETCH_SECONDS = 1
RS_LEEWAY_SECONDS = 2

# docs/deployment.md: rotate no more often than JWKS_MAX_AGE + JWKS_MIN_REFETCH_SECONDS +
# STATE_TTL_SECONDS. The test keeps two seconds more between its two rotations.
MIN_ROTATION_INTERVAL = JWKS_MAX_AGE + RS_JWKS_MIN_REFETCH_SECONDS + STATE_TTL_SECONDS
ROTATION_INTERVAL = MIN_ROTATION_INTERVAL + 2
