"""HasScope and its compositions: every operator, with no token, a bad token and each scope set.

The rule under test: ``|``, ``&`` and ``~`` decide between tokens of ours by their scopes, and
never turn "no token" or "a bad token" into access. Only an operand that allows anonymous
requests itself (``AllowAny``) can.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from itertools import combinations

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from oauth_cc.authentication import BearerJWTAuthentication
from oauth_cc.permissions import HasScope
from oauth_cc.testing import mint_token

pytestmark = pytest.mark.django_db

A, B, C = HasScope.of("a"), HasScope.of("b"), HasScope.of("c")
Scopes = frozenset[str]

# (name, permission, who gets in given the token's scopes, whether anonymous gets in)
COMPOSITIONS: list[tuple[str, object, Callable[[Scopes], bool], bool]] = [
    ("a", A, lambda s: "a" in s, False),
    ("~a", ~A, lambda s: "a" not in s, False),
    ("a | b", A | B, lambda s: "a" in s or "b" in s, False),
    ("a & b", A & B, lambda s: {"a", "b"} <= s, False),
    ("a | ~b", A | ~B, lambda s: "a" in s or "b" not in s, False),
    ("~a | b", ~A | B, lambda s: "a" not in s or "b" in s, False),
    ("~a & ~b", ~A & ~B, lambda s: not s & {"a", "b"}, False),
    ("~(a & b)", ~(A & B), lambda s: not {"a", "b"} <= s, False),
    ("~(a | b)", ~(A | B), lambda s: not s & {"a", "b"}, False),
    ("~~a", ~~A, lambda s: "a" in s, False),
    ("(a & b) | c", (A & B) | C, lambda s: {"a", "b"} <= s or "c" in s, False),
    ("c | (a & b)", C | (A & B), lambda s: {"a", "b"} <= s or "c" in s, False),
    ("a & (b | c)", A & (B | C), lambda s: "a" in s and bool(s & {"b", "c"}), False),
    ("IsAuthenticated & ~a", IsAuthenticated & ~A, lambda s: "a" not in s, False),
    ("~a & IsAuthenticated", ~A & IsAuthenticated, lambda s: "a" not in s, False),
    ("IsAuthenticated | a", IsAuthenticated | A, lambda s: True, False),
    ("a | IsAuthenticated", A | IsAuthenticated, lambda s: True, False),
    # The site asked for anonymous access itself: that operand may grant it, and only it.
    ("a | AllowAny", A | AllowAny, lambda s: True, True),
    ("AllowAny | a", AllowAny | A, lambda s: True, True),
    ("AllowAny & a", AllowAny & A, lambda s: "a" in s, False),
    ("~a | AllowAny", ~A | AllowAny, lambda s: True, True),
]
SCOPE_SETS = [frozenset(c) for n in range(4) for c in combinations("abc", n)]


def view_for(permission: object) -> Callable:
    class View(APIView):
        authentication_classes = [BearerJWTAuthentication]
        permission_classes = [permission]

        def get(self, request):
            return Response({"ok": True})

    return View.as_view()


def call(view: Callable, authorization: str | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return view(APIRequestFactory().get("/x", **headers))


@pytest.fixture
def tokens(db):
    return {scopes: mint_token(scopes=sorted(scopes) or ["unrelated"]) for scopes in SCOPE_SETS}


@pytest.mark.parametrize(("name", "permission", "admits", "anonymous"), COMPOSITIONS,
                         ids=[c[0] for c in COMPOSITIONS])
def test_no_token_is_refused_unless_an_operand_allows_anyone(name, permission, admits, anonymous):
    response = call(view_for(permission))
    if anonymous:
        assert response.status_code == 200
    else:
        assert response.status_code == 401, name
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(("name", "permission", "admits", "anonymous"), COMPOSITIONS,
                         ids=[c[0] for c in COMPOSITIONS])
def test_a_bad_token_is_refused_whatever_the_composition(name, permission, admits, anonymous):
    response = call(view_for(permission), "Bearer not.a.token")
    assert response.status_code == 401, name
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.parametrize(("name", "permission", "admits", "anonymous"), COMPOSITIONS,
                         ids=[c[0] for c in COMPOSITIONS])
def test_each_scope_set_gets_what_the_composition_says(tokens, name, permission, admits,
                                                       anonymous):
    view = view_for(permission)
    for scopes in SCOPE_SETS:
        response = call(view, f"Bearer {tokens[scopes]}")
        expected = 200 if admits(scopes) else 403
        assert response.status_code == expected, (name, sorted(scopes), response.data)


def test_a_refusal_of_a_plain_scope_names_the_scope(tokens):
    response = call(view_for(A | B), f"Bearer {tokens[frozenset('c')]}")
    assert response.status_code == 403
    challenge = response["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and challenge.endswith('scope="a"')


def test_a_negated_scope_is_refused_in_the_sites_error_format(tokens):
    response = call(view_for(~A), f"Bearer {tokens[frozenset('a')]}")
    assert response.status_code == 403
    assert response.data["error"] == "insufficient_scope"
    assert response.data["error_code"] == "1026"
    assert "scope=" not in response["WWW-Authenticate"]


def test_a_request_signed_in_another_way_is_not_a_token_without_the_scope(tokens):
    from django.contrib.auth.models import User
    from rest_framework.authentication import BasicAuthentication

    User.objects.create_user("someone", password="pw")

    class View(APIView):
        authentication_classes = [BasicAuthentication, BearerJWTAuthentication]
        permission_classes = [~A]

        def get(self, request):
            return Response({"ok": True})

    response = View.as_view()(APIRequestFactory().get(
        "/x", HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"someone:pw").decode()))
    assert response.status_code == 403


def test_a_negation_does_not_refuse_every_object(tokens):
    class Detail(APIView):
        authentication_classes = [BearerJWTAuthentication]
        permission_classes = [~A]

        def get(self, request):
            self.check_object_permissions(request, object())
            return Response({"ok": True})

    view = Detail.as_view()
    assert call(view, f"Bearer {tokens[frozenset('b')]}").status_code == 200
    assert call(view, f"Bearer {tokens[frozenset('a')]}").status_code == 403


def test_of_needs_scope_names():
    with pytest.raises(ImproperlyConfigured):
        HasScope.of()
    with pytest.raises(ImproperlyConfigured):
        HasScope.of("")
