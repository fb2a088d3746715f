"""The stateless ``request.user`` of a token-authenticated request (oauth_cc/principal.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.throttling import UserRateThrottle

from oauth_cc.principal import ClientPrincipal
from oauth_cc.verification import VerifiedToken


def principal(client_id: str = "c1", **claims: Any) -> ClientPrincipal:
    return ClientPrincipal(VerifiedToken({"client_id": client_id, "project": 7,
                                          "scope": "address phone", "jti": "j", **claims}))


def test_it_carries_the_tokens_client_project_and_scopes():
    user = principal()
    assert user.client_id == "c1"
    assert user.project_id == "7"  # the claim, as a str
    assert user.scopes == frozenset({"address", "phone"})


def test_its_identity_is_the_client_id():
    user = principal("client-42")
    assert user.pk == user.id == user.get_username() == "client-42"


def test_it_is_authenticated_and_nothing_more():
    user = principal()
    assert user.is_authenticated is True
    assert user.is_anonymous is False
    assert user.is_active is True
    assert user.is_staff is False
    assert user.is_superuser is False


@pytest.mark.parametrize("perm", ["oauth_cc.add_client", "auth.change_user", ""])
def test_it_has_no_django_permissions(perm):
    user = principal()
    assert user.has_perm(perm) is False
    assert user.has_perm(perm, obj=object()) is False
    assert user.has_perms([perm]) is False
    assert user.has_module_perms("oauth_cc") is False


def test_principals_of_one_client_are_equal():
    first, second = principal("c1", jti="a"), principal("c1", jti="b", scope="email")
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second, principal("c2")}) == 2
    assert first != principal("c2")


@pytest.mark.parametrize("other", ["c1", SimpleNamespace(client_id="c1", pk="c1"),
                                   AnonymousUser(), None])
def test_a_principal_equals_no_other_kind_of_object(other):
    assert principal("c1") != other
    assert other != principal("c1")


def test_str_and_repr_name_only_the_client():
    user = principal("c1", scope="secret-scope")
    assert str(user) == "client c1"
    assert repr(user) == "<ClientPrincipal c1>"
    assert "secret-scope" not in repr(user) + str(user)


def test_drf_permissions_see_an_authenticated_non_staff_user():
    request = SimpleNamespace(user=principal())
    assert IsAuthenticated().has_permission(request, None)  # type: ignore[arg-type]
    assert not IsAdminUser().has_permission(request, None)  # type: ignore[arg-type]


def test_per_user_throttles_count_per_client():
    class PerClient(UserRateThrottle):
        rate = "10/min"

    key_1 = PerClient().get_cache_key(SimpleNamespace(user=principal("c1")), None)
    key_2 = PerClient().get_cache_key(SimpleNamespace(user=principal("c2")), None)
    assert key_1 is not None and "c1" in key_1
    assert key_1 != key_2
    assert key_1 == PerClient().get_cache_key(SimpleNamespace(user=principal("c1", jti="x")),
                                              None)
