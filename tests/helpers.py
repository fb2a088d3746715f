"""Small helpers shared by the test modules."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import jwt
from django.db import connections
from django.http import HttpResponse
from django.test import Client as HttpClient

FORM = "application/x-www-form-urlencoded"


def record_calls(monkeypatch: Any, owner: Any, name: str, *, argument: int = 0) -> list[Any]:
    """Spy on ``owner.name`` (still called through): returns the list that collects the
    positional ``argument`` of each call."""
    seen: list[Any] = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[argument])
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return seen


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def post_form(http: HttpClient, path: str, data: dict[str, str] | list[tuple[str, str]] | bytes,
              *, content_type: str = FORM, **headers: Any) -> HttpResponse:
    body = data if isinstance(data, bytes) else urlencode(data)
    return http.generic("POST", path, body, content_type=content_type, **headers)


def token_request(http: HttpClient, client_id: str, secret: str, *, via: str = "post",
                  **params: str) -> HttpResponse:
    """POST /oauth/token with client_secret_post (``via="post"``) or client_secret_basic."""
    data = {"grant_type": "client_credentials", **params}
    if via == "basic":
        return post_form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic(client_id, secret))
    return post_form(http, "/oauth/token",
                     {**data, "client_id": client_id, "client_secret": secret})


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def all_at_once(count: int, action: Callable[[], Any]) -> list[Any]:
    """``action()`` in ``count`` threads released together; their results, in order. Each
    thread closes its database connections when done."""
    barrier = threading.Barrier(count)

    def worker(_: int) -> Any:
        try:
            barrier.wait(timeout=30)
            return action()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(worker, range(count)))
