from __future__ import annotations

import gc
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc import clock, keys, process_cache
from oauth_cc.models import Client, Scope

# One moment that every frozen-clock test starts from: 2026-01-01T00:00:00Z.
T0 = 1_767_225_600.0

_pools: dict[str, list[keys.PrivateKey]] = {}
real_generate_private_key = keys.generate_private_key


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """No cached key, client state or failure count outlives the test that made it."""
    from django.core.cache import cache

    process_cache.clear_all()
    cache.clear()
    yield
    process_cache.clear_all()


@pytest.fixture(autouse=True)
def _pooled_key_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand out keys generated once per session: RSA generation would dominate the run time.

    Each test gets the pool's keys in order (distinct within the test), then real new ones.
    """
    counters: dict[str, Iterator[int]] = {}

    def generate(algorithm: str, key_size: int | None = None) -> keys.PrivateKey:
        if key_size not in (None, 2048):
            return real_generate_private_key(algorithm, key_size)
        pool = _pools.setdefault(algorithm, [])
        index = next(counters.setdefault(algorithm, itertools.count()))
        while len(pool) <= index < 8:
            pool.append(real_generate_private_key(algorithm))
        return pool[index] if index < len(pool) else real_generate_private_key(algorithm)

    monkeypatch.setattr(keys, "generate_private_key", generate)


@pytest.fixture
def oauth_cc_defaults() -> Iterator[None]:
    """Every oauth_cc setting at its default but the issuer, whatever an earlier test left
    behind: setting OAUTH_CC afresh also drops the settings oauth_cc has cached. The modules
    that test one oauth_cc module each use it for all their tests (``pytestmark``)."""
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test"}):
        yield


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    with clock.frozen(T0) as frozen:
        yield frozen


@pytest.fixture
def scopes(db: None) -> dict[str, Scope]:
    made = {name: Scope.objects.create(name=name, description=f"{name} APIs")
            for name in ("address", "phone", "email")}
    # Created by a migration, but a transactional test before this one may have flushed it.
    made["introspection"] = Scope.objects.get_or_create(name="introspection")[0]
    return made


@pytest.fixture
def make_client(scopes: dict[str, Scope]) -> Callable[..., tuple[Client, str]]:
    counter = itertools.count(1)

    def make(scope_names: tuple[str, ...] = ("address", "phone"), **kwargs: Any
             ) -> tuple[Client, str]:
        name = kwargs.pop("name", f"client {next(counter)}")
        return Client.objects.create_client(name, scopes=scope_names, **kwargs)

    return make


@pytest.fixture
def oauth_client(make_client: Callable[..., tuple[Client, str]]) -> tuple[Client, str]:
    """A client allowed "address" and "phone", with its plain secret."""
    return make_client()


@pytest.fixture
def http() -> HttpClient:
    return HttpClient()


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's live server, on 127.0.0.1 unless ``--liveserver`` says otherwise.

    ``localhost`` may resolve to ``::1`` first (Node, curl, Chromium) while Django's server
    listens on IPv4 only; and a loopback address is a secure context for Chromium.

    Before it stops, sockets that third-party clients leaked are collected and their request
    threads allowed to finish: a keep-alive thread ending after the server stopped would close
    the shared in-memory database from the wrong thread and fail the run at exit.
    """
    addr = (request.config.getvalue("liveserver")
            or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "127.0.0.1")
    server = LiveServer(addr)
    yield server
    gc.collect()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            "process_request_thread" in thread.name for thread in threading.enumerate()):
        time.sleep(0.01)
    server.stop()
