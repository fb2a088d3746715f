"""Client state across processes: a change made in one reaches another within STATE_TTL.

Two real server processes share one SQLite file; a third process disables the client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
    servers, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", "--noreload", "--nothreading",
                 f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}/api/address")
        for url, server in zip(urls, servers, strict=True):
            wait_until_serving(url, server, time.monotonic() + 60)
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
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
