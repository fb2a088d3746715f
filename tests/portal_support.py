"""Fixtures and helpers shared by the portal's tests (CONTRACT.md §10).

Alice manages "Acme" and "Acme staging"; Mallory manages "Mallory's"; each project has a
client made in the admin's way (``Client.objects.create_client``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.test import Client as HttpClient

from oauth_cc.client.private_key import ASSERTION_TYPE, AssertionSigner, public_jwk_set
from oauth_cc.models import Client, Project, Scope
from tests.helpers import post_form

PORTAL = "/portal/"
TOKEN_URL = "https://issuer.test/oauth/token"  # the test settings' ISSUER, and our path


@dataclass
class World:
    alice: User
    mallory: User
    acme: Project
    staging: Project
    mallorys: Project
    acme_client: Client
    staging_client: Client
    mallory_client: Client


def make_project(name: str, member: User, scopes: list[Scope], **kwargs: Any) -> Project:
    project = Project.objects.create(name=name, **kwargs)
    project.members.add(member)
    project.scopes.set(scopes)
    return project


@pytest.fixture
def world(scopes: dict[str, Scope]) -> World:
    alice = User.objects.create_user("alice", password="alice-password")
    mallory = User.objects.create_user("mallory", password="mallory-password")
    allowed = [scopes["address"], scopes["phone"]]
    acme = make_project("Acme", alice, allowed)
    staging = make_project("Acme staging", alice, allowed)
    mallorys = make_project("Mallory's", mallory, allowed)
    return World(
        alice, mallory, acme, staging, mallorys,
        Client.objects.create_client("Acme server", project=acme, scopes=["address"])[0],
        Client.objects.create_client("Staging server", project=staging,
                                     scopes=["address"])[0],
        Client.objects.create_client("Mallory's server", project=mallorys,
                                     scopes=["address"])[0],
    )


def logged_in(user: User, **kwargs: Any) -> HttpClient:
    http = HttpClient(**kwargs)
    http.force_login(user)
    return http


@pytest.fixture
def alice_http(world: World) -> HttpClient:
    return logged_in(world.alice)


def credentials_url(project: Project) -> str:
    return f"{PORTAL}projects/{project.pk}/credentials/"


def client_url(project: Project, client_id: str, action: str) -> str:
    return f"{credentials_url(project)}{client_id}/{action}/"


def api_clients_url(project: Project) -> str:
    return f"{PORTAL}api/projects/{project.pk}/clients/"


def api_client_url(project: Project, client_id: str, action: str = "") -> str:
    return f"{api_clients_url(project)}{client_id}/" + (f"{action}/" if action else "")


def shown_secret(response: HttpResponse) -> str:
    match = re.search(r'id="oauth-cc-client-secret" value="([^"]+)"', response.content.decode())
    assert match, "the page shows no secret"
    return match.group(1)


def shown_client_id(response: HttpResponse) -> str:
    match = re.search(r'id="oauth-cc-client-id" value="([^"]+)"', response.content.decode())
    assert match, "the page shows no client id"
    return match.group(1)


def jwk_set(kid: str = "k1") -> dict[str, Any]:
    """A public JWK Set of a new P-256 key (its private half is thrown away)."""
    return new_key(kid)[1]


def new_key(kid: str = "k1") -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    """A new P-256 private key, and the public JWK Set that registers it as ``kid``."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key, public_jwk_set(key, kid)


def key_token_request(http: HttpClient, client_id: str, key: Any,
                      kid: str | None = "k1") -> HttpResponse:
    """POST /oauth/token as a private_key_jwt client: an assertion signed with ``key`` (what
    ``TokenClient(..., private_key=key)`` sends), for the test settings' issuer."""
    assertion = AssertionSigner.load(key, kid).assertion(client_id, TOKEN_URL)
    return post_form(http, "/oauth/token", {
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion})


def snapshot() -> list[tuple[Any, ...]]:
    """Every client and project as it is stored: what an attack must not change."""
    clients = [(c.client_id, c.name, c.project_id, c.secret_hash, c.previous_secret_hash,
                c.is_active, tuple(sorted(s.name for s in c.scopes.all())), c.auth_method,
                json.dumps(c.jwks, sort_keys=True), c.jwks_uri, c.require_dpop)
               for c in Client.objects.prefetch_related("scopes").order_by("pk")]
    projects = [(p.pk, p.name, p.is_active) for p in Project.objects.order_by("pk")]
    return [*clients, *projects]


def assert_secret_kept_nowhere(http: HttpClient, response: HttpResponse, secret: str) -> None:
    """Not in a cookie, the session, a stored message or a redirect."""
    assert not response.has_header("Location") or secret not in response["Location"]
    for morsel in [*response.cookies.values(), *http.cookies.values()]:
        assert secret not in morsel.value
    for session in Session.objects.all():
        assert secret not in json.dumps(session.get_decoded(), default=str)
    from django.contrib.messages import get_messages

    assert not [m for m in get_messages(response.wsgi_request) if secret in str(m)]


def projects_named_like_user(request: HttpRequest) -> QuerySet[Project]:
    """A ``PORTAL_PROJECTS`` for the tests: a site whose own account model decides (here,
    projects named after the user's username)."""
    return Project.objects.filter(name__iexact=request.user.get_username())


def not_a_queryset(request: HttpRequest) -> list[Project]:
    return list(Project.objects.all())
