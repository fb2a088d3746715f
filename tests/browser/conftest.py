"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, against the live server.

Playwright's own browser downloads are not used: ``/usr/bin/chromium`` (``apt-get install
chromium``) is. Without Playwright or Chromium the tests skip, unless
``OAUTH_CC_REQUIRE_BROWSER=1`` (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django.contrib.admin
import pytest
from pytest_django.live_server_helper import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN_STATIC = Path(django.contrib.admin.__file__).resolve().parent / "static"
REPOSITORY = Path(__file__).resolve().parents[2]


def _join_request_threads(timeout: float = 5.0) -> None:
    """Wait for the live server's threads serving the closed browser's connections.

    They are daemon threads: one still running when the interpreter exits prints a spurious
    traceback.
    """
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(max(0.0, deadline - time.monotonic()))


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install 'django-oauth-cc[browser]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture
def admin_static(settings: Any) -> None:
    """Serve the admin's CSS and JS: the test settings have no staticfiles app, and the live
    server's fallback handler serves ``STATIC_ROOT``, read on each request."""
    settings.STATIC_ROOT = str(ADMIN_STATIC)


@pytest.fixture
def chromium(live_server: LiveServer, admin_static: None) -> Callable[[], Any]:
    """``with chromium() as page:`` a Playwright page in a fresh headless Chromium.

    A context manager rather than a fixture that stays open: Playwright's sync API keeps an
    event loop running in this thread, where Django refuses ORM calls, so a test does its
    database work before and after the block.
    """

    @contextmanager
    def open_page() -> Iterator[Any]:
        # Checked here, in the test, so that OAUTH_CC_REQUIRE_BROWSER=1 reports a failure.
        missing = _missing()
        if missing:
            if os.environ.get("OAUTH_CC_REQUIRE_BROWSER") == "1":
                pytest.fail(f"{missing}, and OAUTH_CC_REQUIRE_BROWSER=1")
            pytest.skip(missing)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                context.grant_permissions(["clipboard-read", "clipboard-write"],
                                          origin=live_server.url)
                context.set_default_timeout(20_000)
                yield context.new_page()
            finally:
                browser.close()
                _join_request_threads()

    return open_page


class DemoServer:
    """The demo project (its settings and URLs) served by ``runserver`` on loopback."""

    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        self.url, self.client_id, self.client_secret = url, client_id, client_secret


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    """The demo as ``make demo`` runs it: its own SQLite file, ``migrate``, ``demo_setup``
    (whose demo client's id and secret it keeps), and ``runserver`` with ``DEBUG`` on, which
    serves the static files (Swagger UI's, from drf-spectacular-sidecar). ``OAUTH_CC_ISSUER``
    is its real URL, so the token URL its pages name is the one it serves.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "OAUTH_CC_ISSUER": url,
           "DJANGO_DEBUG": "1"}
    for name in ("REDIS_URL", "OAUTH_CC_AUTH_FAILURES_PER_ADDRESS"):
        env.pop(name, None)

    def manage(*args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=REPOSITORY, env=env,
                              check=True, capture_output=True, text=True, timeout=120).stdout

    manage("migrate", "--noinput")
    printed = manage("demo_setup")
    client_id = re.search(r"client_id:\s+(\S+)", printed)
    secret = re.search(r"client_secret:\s+(\S+)", printed)
    assert client_id and secret, printed
    log = (tmp_path / "runserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPOSITORY, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise AssertionError(f"the demo server exited with {server.returncode}: "
                                     f"{(tmp_path / 'runserver.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/schema/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the demo server did not start") from None
                time.sleep(0.1)
        yield DemoServer(url, client_id.group(1), secret.group(1))
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
