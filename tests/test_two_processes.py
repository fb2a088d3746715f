"""Client state across processes: a change made in one reaches another within STATE_TTL, and
a client assertion used at one is refused at the other.

Two real server processes share one SQLite file; a third process disables the client.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATE_TTL = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


def wait_until_serving(url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not start")


@contextmanager
def serving(env: dict[str, str], count: int = 2) -> Iterator[list[str]]:
    """``count`` server processes with ``env`` (one request at a time each, as sync workers
    serve), ready; their base URLs. Stopped on leaving the block."""
    servers, bases = [], []
    try:
        for _ in range(count):
            port = free_port()
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", "--noreload", "--nothreading",
                 f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        for base, server in zip(bases, servers, strict=True):
            wait_until_serving(base + "/.well-known/jwks.json", server, time.monotonic() + 60)
        yield bases
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture
def shared_database(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
           "OAUTH_CC_TEST_STATE_TTL": str(STATE_TTL)}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return env


def django_shell(env: dict[str, str], code: str) -> str:
    return subprocess.run([sys.executable, "-m", "django", "shell", "--no-imports", "-c", code],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True,
                          timeout=120).stdout.strip()


def test_disabling_a_client_reaches_every_worker_within_state_ttl(shared_database):
    env = shared_database
    token = django_shell(env, (
        "from oauth_cc.models import Scope; from oauth_cc.testing import mint_token; "
        "Scope.objects.create(name='address'); print(mint_token(scopes=['address']))"))
    with serving(env) as bases:
        urls = [base + "/api/address" for base in bases]
        for url in urls:
            assert status(url, token) == 200  # each worker now caches the client as active

        django_shell(env, (
            "from oauth_cc.models import Client; c = Client.objects.get(); c.is_active = False; "
            "c.save()"))
        changed_at = time.monotonic()
        pending = set(urls)
        while pending and time.monotonic() < changed_at + STATE_TTL + 2:
            pending = {url for url in pending if status(url, token) == 200}
            time.sleep(0.05)
        assert not pending, "a worker still accepts the disabled client's token"
        assert time.monotonic() - changed_at <= STATE_TTL + 2


# A jti is used once across workers: the replay check is in the shared cache.

SHARED_CACHE_SETTINGS = """
from tests.settings import *  # noqa: F403

import os

if os.environ.get("REDIS_URL"):
    CACHES = {{"default": {{"BACKEND": "oauth_cc.redis_cache.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": {prefix!r}}}}}
else:  # what two processes on one machine can share without a server
    CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": {location!r}}}}}
"""


@pytest.fixture
def shared_cache(tmp_path):
    """Settings for processes that share one SQLite file and one cache: Redis when REDIS_URL
    is set (under a prefix of this test's own), else a cache directory."""
    (tmp_path / "shared_cache_settings.py").write_text(SHARED_CACHE_SETTINGS.format(
        prefix=f"oauth_cc_two_processes_{uuid.uuid4().hex}", location=str(tmp_path / "cache")))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shared_cache_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT),
                                          os.environ.get("PYTHONPATH", "")]),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return env


def post(url: str, params: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(),
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_client_assertion_is_accepted_once_across_workers(shared_cache):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from oauth_cc.keys import public_jwk
    from tests.test_client_assertion import ASSERTION_TYPE, TOKEN_URL

    env = shared_cache
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [{**public_jwk(key.public_key()), "kid": "k1"}]}
    client_id = django_shell(env, (
        "from oauth_cc.models import Client, Scope; Scope.objects.create(name='address'); "
        f"print(Client.objects.create_secretless_client('svc', scopes=['address'], "
        f"jwks={jwks!r}).client_id)"))

    def assertion() -> str:
        now = int(time.time())
        return jwt.encode({"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "iat": now,
                           "exp": now + 60, "jti": uuid.uuid4().hex}, key, algorithm="ES256",
                          headers={"kid": "k1"})

    with serving(env) as bases:
        urls = [base + "/oauth/token" for base in bases]
        used = assertion()
        params = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                  "client_assertion": used}
        first_status, _ = post(urls[0], params)
        assert first_status == 200
        status_code, body = post(urls[1], params)  # the other worker, the same assertion
        assert status_code == 401, body
        assert body["error"] == "invalid_client"
        assert "used before" in str(body["error_description"])
        assert post(urls[1], {**params, "client_assertion": assertion()})[0] == 200
