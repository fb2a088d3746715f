"""The demo's settings with ``benchmarks.open_urls``: the loopback run's oauth_cc server.

Nothing else differs from ``demo_project.settings``, so the token endpoint and the protected
API are served as the demo serves them, and beside them, by the same workers, an open copy of
the autocomplete view to compare the protected one with.
"""

from demo_project.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.open_urls"
