"""DRF authentication and permission on a prepared request, and the same view with and without
them: the same measurement for oauth_cc and for each peer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import harness


def prepared_auth(authentication: Any, permission: Any, token: str, *,
                  required_scopes: Sequence[str] = ("address",)) -> Callable[[], None]:
    """``authenticate()`` then ``has_permission()`` on one prepared DRF request.

    The request is built once, so the figure is the classes' own work: no WSGI, routing or
    request parsing.
    """
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.views import APIView

    request = Request(RequestFactory().get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}"))

    class View(APIView):
        pass

    View.required_scopes = list(required_scopes)  # type: ignore[attr-defined]
    view = View()

    def authenticate() -> None:
        result = authentication.authenticate(request)
        assert result is not None, "the token was not accepted"
        request.user, request.auth = result
        assert permission.has_permission(request, view)

    return authenticate


def view_overhead(authentication_classes: list[type], permission_classes: list[type],
                  token: str, *, seconds: float,
                  required_scopes: Sequence[str] = ("address",)) -> dict[str, float]:
    """One DRF view called with and without the classes; the difference is their overhead."""
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
    medians, rounds = harness.interleaved_us({"protected": protected, "open": open_view},
                                             seconds=seconds, rounds=21)
    overheads = sorted(r["protected"] - r["open"] for r in rounds)
    return {"view_protected_us": medians["protected"], "view_open_us": medians["open"],
            "view_overhead_us": overheads[len(overheads) // 2]}
