"""Real processes for the system test: a PostgreSQL database, gunicorn servers, manage.py.

Nothing here imports Django: the servers and commands run in their own processes, each with
its own settings module, as in a deployment.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "OAUTH_CC_REQUIRE_SYSTEM"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"
REDIS_URL = "redis://127.0.0.1:6379/0"
COMMAND_TIMEOUT = 60

# What a request to a worker that died under it ends with; anything else is a real error.
CONNECTION_ERRORS = (ConnectionError, http.client.RemoteDisconnected,
                     http.client.BadStatusLine, http.client.IncompleteRead)


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when ``OAUTH_CC_REQUIRE_SYSTEM=1`` (as in CI)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is a failure)", pytrace=False)
    pytest.skip(reason)


def missing_service() -> str | None:
    """Why the system test cannot run here (gunicorn, PostgreSQL, Redis), or None."""
    if importlib.util.find_spec("gunicorn") is None:
        return "gunicorn is not installed (pip install -e '.[test]')"
    try:
        import psycopg
        import redis
    except ImportError as e:
        return f"{e.name} is not installed (pip install -e '.[test]')"
    try:
        psycopg.connect(PG_ADMIN).close()
    except psycopg.Error as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"PostgreSQL is not reachable on 127.0.0.1:5432 as postgres: {reason}"
    try:
        connection = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        connection.ping()
        connection.close()
    except redis.RedisError as e:
        return f"Redis is not reachable on 127.0.0.1:6379: {e}"
    return None


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]  # our own identifiers only


@contextmanager
def database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database ``name`` for the run, dropped afterwards; yields its URL."""
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def delete_cache_keys(prefix: str) -> None:
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        for key in connection.scan_iter(match=f"{prefix}:*", count=500):
            connection.delete(key)
    finally:
        connection.close()


def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py ARGS`` in its own process; return its stdout. Fails on a non-zero exit."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    """``GET url`` on a new connection: ``(status, JSON body or {})``. Connection errors raise."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return _request("GET", url, headers, None, timeout)


def post_form(url: str, body: str, headers: dict[str, str], timeout: float = 10
              ) -> tuple[int, dict[str, Any]]:
    headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    return _request("POST", url, headers, body.encode(), timeout)


def _request(method: str, url: str, headers: dict[str, str], body: bytes | None,
             timeout: float) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        document = json.loads(raw) if raw else {}
    except ValueError:
        document = {"raw": raw[:200].decode("utf-8", "replace")}
    return response.status, document if isinstance(document, dict) else {"raw": document}


class Gunicorn:
    """``gunicorn APP`` with ``workers`` sync workers on 127.0.0.1, logging to ``log``."""

    def __init__(self, app: str, env: dict[str, str], workers: int, port: int,
                 log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.workers = workers
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--worker-class", "sync", "--timeout", "30",
             "--graceful-timeout", "3", "--chdir", str(ROOT), "--log-level", "info"],
            cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_until_serving(self, path: str, timeout: float = 60) -> None:
        """Return once every worker is up and ``path`` answers (with any status)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n"
                                     + self.log_tail())
            if len(self.worker_pids()) == self.workers:
                try:
                    get(self.url + path, timeout=5)
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"{self.url} did not start:\n{self.log_tail()}")

    def worker_pids(self) -> set[int]:
        """The master's live children: its workers."""
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended while we looked
            if fields[0] != "Z" and int(fields[1]) == self.process.pid:
                children.add(int(stat.parent.name))
        return children

    def log_tail(self, lines: int = 40) -> str:
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate (gunicorn stops its workers gracefully), then kill if it lingers."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    for pid in self.worker_pids():
                        os.kill(pid, signal.SIGKILL)
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            self._log_file.close()
