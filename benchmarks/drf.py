"""DRF authentication and permission on a prepared request, and the same view with and without
them: the same measurement for oauth_cc and for each peer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import harness


def prepared_auth(authentication: Any, permission: Any, token: str | Sequence[str], *,
                  required_scopes: Sequence[str] = ("address",)) -> Callable[[], None]:
    """``authenticate()`` then ``has_permission()`` on one prepared DRF request.

    The request is built once, so the figure is the classes' own work: no WSGI, routing or
    request parsing. Given several tokens, one request is prepared per token and each call
    takes the next, round and round: with more tokens than a cache holds, every call
    presents a token it does not hold (a cold cache).
    """
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.views import APIView

    tokens = [token] if isinstance(token, str) else list(token)
    factory = RequestFactory()
    requests = [Request(factory.get("/api/x", HTTP_AUTHORIZATION=f"Bearer {t}"))
                for t in tokens]

    class View(APIView):
        pass

    View.required_scopes = list(required_scopes)  # type: ignore[attr-defined]
    view = View()

    def check(request: Any) -> None:
        result = authentication.authenticate(request)
        assert result is not None, "the token was not accepted"
        request.user, request.auth = result
        assert permission.has_permission(request, view)

    if len(requests) == 1:
        only = requests[0]
        return lambda: check(only)
    following = itertools.cycle(requests).__next__
    return lambda: check(following())


def view_pair(authentication_classes: list[type], permission_classes: list[type],
              token: str, *, required_scopes: Sequence[str] = ("address",)
              ) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(protected, open)``: one DRF view called through ``as_view()`` on a new request each
    time, with the classes and without them (no authentication, ``AllowAny``)."""
    from django.test import RequestFactory
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Protected(APIView):
        def get(self, request: Request) -> Response:
            return Response({"ok": True})

    Protected.authentication_classes = authentication_classes
    Protected.permission_classes = permission_classes
    Protected.required_scopes = list(required_scopes)  # type: ignore[attr-defined]

    class Open(Protected):
        authentication_classes: list[type] = []
        permission_classes = [AllowAny]

    factory = RequestFactory()

    def call(view_fn: Callable[..., Any]) -> Callable[[], None]:
        def run() -> None:
            response = view_fn(factory.get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}"))
            response.render()
            assert response.status_code == 200, response.content

        return run

    protected, open_view = call(Protected.as_view()), call(Open.as_view())
    for _ in range(10):
        protected()
        open_view()
    return protected, open_view


def view_overhead(authentication_classes: list[type], permission_classes: list[type],
                  token: str, *, seconds: float,
                  required_scopes: Sequence[str] = ("address",)) -> dict[str, float]:
    """One DRF view called with and without the classes; the difference is their overhead."""
    protected, open_view = view_pair(authentication_classes, permission_classes, token,
                                     required_scopes=required_scopes)
    medians, rounds = harness.interleaved_us({"protected": protected, "open": open_view},
                                             seconds=seconds, rounds=21)
    overheads = sorted(r["protected"] - r["open"] for r in rounds)
    return {"view_protected_us": medians["protected"], "view_open_us": medians["open"],
            "view_overhead_us": overheads[len(overheads) // 2]}
