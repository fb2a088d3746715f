"""The portal from the attacker's side (CONTRACT.md §10), through every URL, HTML and JSON:
someone else's project by pk, someone else's client by id, a client of one of your projects
under another of your projects, anonymous access, the wrong method, a missing CSRF token and a
project that is not enabled. Each answer is a 404, 405, 403 or a redirect to the login page,
as the contract says, and none changes anything. Each request would also make the client
``private_key_jwt`` with the sender's keys, where it can (CONTRACT.md §11), and flip whether
it must use DPoP (CONTRACT.md §12)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import URLPattern, reverse

from oauth_cc.models import Project, Scope
from oauth_cc.portal import urls as portal_urls
from tests.portal_support import World, jwk_set, logged_in, snapshot, world

__all__ = ["world"]  # fixtures

UNSAFE = {"POST", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Call:
    """One request the portal answers: its URL name, method, and whether it is JSON."""

    name: str
    method: str
    takes_project: bool = True
    takes_client: bool = False

    @property
    def json(self) -> bool:
        return self.name.startswith("api-")

    def __str__(self) -> str:
        return f"{self.method} {self.name}"

    def url(self, project_pk: int | None = None, client_id: str | None = None) -> str:
        kwargs: dict[str, Any] = {}
        if self.takes_project:
            kwargs["project_pk"] = project_pk
        if self.takes_client:
            kwargs["client_id"] = client_id
        return reverse(f"oauth_cc_portal:{self.name}", kwargs=kwargs)

    def send(self, http: HttpClient, url: str, method: str | None = None) -> Any:
        """The request, with a body that would change the client if it were let through:
        even switch it to private_key_jwt with the sender's keys, and require DPoP."""
        method = method or self.method
        if self.json:
            body = {"name": "Hijacked", "scopes": ["address", "phone"], "is_active": False,
                    "auth_method": "private_key_jwt", "jwks": jwk_set(), "require_dpop": True}
            return http.generic(method, url, json.dumps(body) if method in UNSAFE else "",
                                content_type="application/json")
        if method == "POST":
            scopes = Scope.objects.filter(name__in=["address", "phone"])
            return http.post(url, {"name": "Hijacked", "scopes": [s.pk for s in scopes],
                                   "jwks": json.dumps(jwk_set()), "require_dpop": "on"})
        return http.generic(method, url)


CALLS = [
    Call("projects", "GET", takes_project=False),
    Call("credentials", "GET"),
    Call("create", "POST"),
    *(Call(name, "POST", takes_client=True) for name in ("regenerate", "disable", "enable",
                                                           "require-dpop", "allow-bearer",
                                                           "delete")),
    Call("authentication", "GET", takes_client=True),
    Call("authentication", "POST", takes_client=True),
    Call("api-projects", "GET", takes_project=False),
    Call("api-clients", "GET"),
    Call("api-clients", "POST"),
    *(Call("api-client", method, takes_client=True) for method in ("GET", "PATCH", "DELETE")),
    Call("api-regenerate", "POST", takes_client=True),
]
PROJECT_CALLS = [call for call in CALLS if call.takes_project]
CLIENT_CALLS = [call for call in CALLS if call.takes_client]
UNSAFE_CALLS = [call for call in CALLS if call.method in UNSAFE]
POST_ONLY = ["create", "regenerate", "disable", "enable", "require-dpop", "allow-bearer",
             "delete", "api-regenerate"]


def own_url(call: Call, world: World) -> str:
    return call.url(world.acme.pk, world.acme_client.client_id)


def test_every_portal_url_is_in_this_file() -> None:
    names = {pattern.name for pattern in portal_urls.urlpatterns
             if isinstance(pattern, URLPattern)}
    assert names == {call.name for call in CALLS}
    assert len(portal_urls.urlpatterns) == len(names)


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_anonymous(world: World, call: Call) -> None:
    before = snapshot()
    url = own_url(call, world)
    response = call.send(HttpClient(), url)
    if call.json:
        assert response.status_code == 403  # session authentication: no 401 challenge
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert snapshot() == before


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_an_inactive_user_is_anonymous(world: World, call: Call) -> None:
    http = logged_in(world.alice)
    world.alice.is_active = False
    world.alice.save()
    before = snapshot()
    response = call.send(http, own_url(call, world))
    assert response.status_code == (403 if call.json else 302)
    assert snapshot() == before


@pytest.mark.parametrize("portal_projects", [
    None, "tests.portal_support.projects_named_like_user"])
@pytest.mark.parametrize("call", PROJECT_CALLS, ids=str)
def test_another_users_project_by_pk(world: World, call: Call,
                                     portal_projects: str | None) -> None:
    Project.objects.create(name="alice")  # what the custom rule gives alice
    before = snapshot()
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "PORTAL_PROJECTS": portal_projects}):
        response = call.send(logged_in(world.alice),
                             call.url(world.mallorys.pk, world.mallory_client.client_id))
    assert response.status_code == 404
    assert "Mallory" not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("call", PROJECT_CALLS, ids=str)
def test_a_project_that_does_not_exist(world: World, call: Call) -> None:
    before = snapshot()
    response = call.send(logged_in(world.alice), call.url(10**9, world.acme_client.client_id))
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("call", CLIENT_CALLS, ids=str)
def test_another_users_client_under_your_project(world: World, call: Call) -> None:
    before = snapshot()
    response = call.send(logged_in(world.alice),
                         call.url(world.acme.pk, world.mallory_client.client_id))
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("call", CLIENT_CALLS, ids=str)
def test_a_client_of_project_a_under_project_b(world: World, call: Call) -> None:
    """Alice manages both projects: the client must still be the URL's project's."""
    before = snapshot()
    response = call.send(logged_in(world.alice),
                         call.url(world.staging.pk, world.acme_client.client_id))
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("call", CLIENT_CALLS, ids=str)
def test_a_client_that_does_not_exist(world: World, call: Call) -> None:
    before = snapshot()
    response = call.send(logged_in(world.alice), call.url(world.acme.pk, "no-such-client"))
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("name", POST_ONLY)
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
def test_the_wrong_method_on_a_post_endpoint(world: World, name: str, method: str) -> None:
    call = next(call for call in CALLS if call.name == name)
    before = snapshot()
    response = call.send(logged_in(world.alice), own_url(call, world), method)
    assert response.status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_wrong_method_on_the_authentication_page(world: World, method: str) -> None:
    call = Call("authentication", "GET", takes_client=True)
    before = snapshot()
    response = call.send(logged_in(world.alice), own_url(call, world), method)
    assert response.status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("call", UNSAFE_CALLS, ids=str)
def test_a_change_without_the_csrf_token(world: World, call: Call) -> None:
    before = snapshot()
    response = call.send(logged_in(world.alice, enforce_csrf_checks=True), own_url(call, world))
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("call", UNSAFE_CALLS, ids=str)
def test_a_project_that_is_not_enabled(world: World, call: Call) -> None:
    world.acme.set_active(False)
    before = snapshot()
    response = call.send(logged_in(world.alice), own_url(call, world))
    assert response.status_code == 409
    assert "not enabled" in response.content.decode()
    assert "client_secret" not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("call", [c for c in CALLS if c.method == "GET"], ids=str)
def test_reading_a_project_that_is_not_enabled(world: World, call: Call) -> None:
    world.acme.set_active(False)
    assert call.send(logged_in(world.alice), own_url(call, world)).status_code == 200


@pytest.mark.parametrize("call", UNSAFE_CALLS, ids=str)
def test_the_same_request_by_its_owner_works(world: World, call: Call) -> None:
    """The control: each request refused above succeeds from the right user, in the right
    project, with the token, while the project is enabled."""
    if call.name == "enable":
        world.acme_client.set_active(False)
    if call.name == "allow-bearer":
        world.acme_client.require_dpop = True
        world.acme_client.save()
    before = snapshot()
    response = call.send(logged_in(world.alice), own_url(call, world))
    assert response.status_code in (200, 201, 204, 303), response.content
    assert snapshot() != before


@pytest.mark.parametrize("name", ["require-dpop", "allow-bearer"])
def test_a_non_member_cannot_flip_another_projects_dpop(world: World, name: str) -> None:
    """Mallory, by every route she might try: Alice's project and client, or her own project
    with Alice's client; HTML and JSON alike. Nothing flips, and nothing says it exists."""
    world.acme_client.require_dpop = name == "allow-bearer"  # so that the call would flip it
    world.acme_client.save()
    before = snapshot()
    http = logged_in(world.mallory)
    call = Call(name, "POST", takes_client=True)
    target = world.acme_client.client_id
    for url in (call.url(world.acme.pk, target), call.url(world.mallorys.pk, target)):
        assert call.send(http, url).status_code == 404
    api = Call("api-client", "PATCH", takes_client=True)
    for url in (api.url(world.acme.pk, target), api.url(world.mallorys.pk, target)):
        response = http.patch(url, json.dumps({"require_dpop": name == "require-dpop"}),
                              content_type="application/json")
        assert response.status_code == 404
    assert snapshot() == before
