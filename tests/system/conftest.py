"""The deployment of the system test: an issuer and a remote resource server, for real.

- The issuer: the demo project (``tests.system.issuer_settings``) under gunicorn with two
  workers, on a PostgreSQL database made for the run and the shared Redis, migrated, with
  scopes and clients made by its management commands.
- The resource server: ``tests.system.resource_server``, another Django project in remote
  mode (``JWKS_URL``) under gunicorn with two workers. It gets neither the issuer's
  database nor its cache: it has no database at all.

Without gunicorn, PostgreSQL or Redis the tests skip, unless ``OAUTH_CC_REQUIRE_SYSTEM=1``.
Every process is stopped, the database dropped and the run's cache keys deleted afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.system.load import Client
from tests.system.support import (
    REDIS_URL,
    Gunicorn,
    database,
    delete_cache_keys,
    free_port,
    manage,
    missing_service,
    skip_or_fail,
)

ISSUER_WORKERS = 2
RESOURCE_SERVER_WORKERS = 2
ISSUER_API = "/api/au/address/autocomplete/?q=274+Harb&format=json"
RS_API = "/api/address/"
CLIENT_NAMES = ("a", "b", "disabled")


@dataclass
class Deployment:
    issuer: Gunicorn
    resource_server: Gunicorn
    env: dict[str, str]  # for manage.py against the issuer's database
    clients: list[Client]


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    reason = missing_service()
    if reason:
        skip_or_fail(reason)
    run = f"oauth_cc_system_{os.getpid()}"
    issuer_port, rs_port = free_port(), free_port()
    issuer_url = f"http://127.0.0.1:{issuer_port}"
    servers: list[Gunicorn] = []
    with database(run) as database_url:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.system.issuer_settings",
               "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "DJANGO_DEBUG": "0",
               "OAUTH_CC_ISSUER": issuer_url, "OAUTH_CC_SYSTEM_CACHE_PREFIX": run}
        rs_env = {k: v for k, v in os.environ.items()
                  if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        rs_env.update(DJANGO_SETTINGS_MODULE="tests.system.resource_server.settings",
                      OAUTH_CC_ISSUER=issuer_url, OAUTH_CC_SYSTEM_RS_REDIS_URL=REDIS_URL,
                      OAUTH_CC_SYSTEM_CACHE_PREFIX=run)
        try:
            manage(env, "migrate", "--noinput")
            manage(rs_env, "check", "--fail-level", "WARNING")
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda name: manage(env, "create_oauth_scope", name),
                              ["address", "phone"]))
                made = pool.map(lambda name: json.loads(manage(
                    env, "create_oauth_client", name, "--scopes", "address phone", "--json")),
                    CLIENT_NAMES)
                clients = [Client(name, c["client_id"], c["client_secret"])
                           for name, c in zip(CLIENT_NAMES, made, strict=True)]
            servers.append(Gunicorn("demo_project.wsgi:application", env, ISSUER_WORKERS,
                                    issuer_port, tmp_path / "issuer.log"))
            servers.append(Gunicorn("tests.system.resource_server.wsgi:application", rs_env,
                                    RESOURCE_SERVER_WORKERS, rs_port,
                                    tmp_path / "resource_server.log"))
            servers[0].wait_until_serving("/.well-known/oauth-authorization-server")
            servers[1].wait_until_serving(RS_API)
            yield Deployment(servers[0], servers[1], env, clients)
        finally:
            for server in servers:
                server.stop()
            delete_cache_keys(run)
