"""requests-oauthlib and Authlib get tokens from the live token endpoint (CONTRACT.md §8),
Authlib also as a secretless ``private_key_jwt`` client (§11, its ``rfc7523.PrivateKeyJWT``).

Each test also records the request the library really sent, to prove which client
authentication method was exercised, and holds the issued token to the full claims check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey, OKPKey
from oauthlib.oauth2 import BackendApplicationClient, InvalidClientError
from requests_oauthlib import OAuth2Session

from oauth_cc.client.private_key import ASSERTION_TYPE
from oauth_cc.models import Client
from tests.interop.claims import check_access_token
from tests.interop.conftest import KeyedClient
from tests.interop.support import Issuer

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("insecure_transport")]


def record_requests(session: requests.Session) -> list[requests.PreparedRequest]:
    """The requests ``session`` sends from now on, as they went on the wire."""
    sent: list[requests.PreparedRequest] = []

    def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
        sent.append(response.request)

    session.hooks["response"].append(hook)
    return sent


def body_text(request: requests.PreparedRequest) -> str:
    body = request.body or ""
    return body.decode() if isinstance(body, bytes) else body


def assert_authenticated_with(request: requests.PreparedRequest, method: str) -> None:
    if method == "client_secret_basic":
        assert request.headers["Authorization"].startswith("Basic ")
        assert "client_secret=" not in body_text(request)
    else:
        assert "Authorization" not in request.headers
        assert "client_secret=" in body_text(request)
        assert "client_id=" in body_text(request)


@pytest.mark.parametrize(("include_client_id", "method"), [
    (False, "client_secret_basic"),
    (True, "client_secret_post"),
])
@pytest.mark.parametrize(("scope", "granted"), [
    (None, "address phone"),
    (["address"], "address"),
    (["phone", "address"], "phone address"),
])
def test_requests_oauthlib_backend_application_client(
    issuer: Issuer, client_pair: tuple[Client, str], include_client_id: bool, method: str,
    scope: list[str] | None, granted: str,
) -> None:
    client, secret = client_pair
    before = time.time()
    # The scope goes on oauthlib's client: OAuth2Session(scope=...) is not sent in this grant.
    backend = BackendApplicationClient(client_id=client.client_id, scope=scope)
    with OAuth2Session(client=backend) as session:
        sent = record_requests(session)
        token = session.fetch_token(token_url=issuer.token_url, client_id=client.client_id,
                                    client_secret=secret, include_client_id=include_client_id)

    assert len(sent) == 1
    assert_authenticated_with(sent[0], method)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    assert token["scope"] == granted.split()  # oauthlib hands the scope back as a list
    check_access_token(token["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope=granted, issued_after=before)


def test_requests_oauthlib_reports_invalid_client(issuer: Issuer,
                                                  client_pair: tuple[Client, str]) -> None:
    """oauthlib turns our RFC 6749 §5.2 error body into its own ``InvalidClientError``."""
    client, _ = client_pair
    with OAuth2Session(client=BackendApplicationClient(client_id=client.client_id)) as session, \
            pytest.raises(InvalidClientError) as raised:
        session.fetch_token(token_url=issuer.token_url, client_id=client.client_id,
                            client_secret="wrong-secret")
    assert raised.value.status_code == 401
    assert raised.value.description


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize(("scope", "granted"), [
    (None, "address phone"),
    ("address", "address"),
    ("address phone", "address phone"),
])
def test_authlib_oauth2_session(issuer: Issuer, client_pair: tuple[Client, str], method: str,
                                scope: str | None, granted: str) -> None:
    client, secret = client_pair
    before = time.time()
    with AuthlibSession(client.client_id, secret, token_endpoint_auth_method=method,
                        scope=scope) as session:
        sent = record_requests(session)
        token = session.fetch_token(issuer.token_url, grant_type="client_credentials")

    assert len(sent) == 1
    assert_authenticated_with(sent[0], method)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    assert token["scope"] == granted
    assert not token.is_expired()
    check_access_token(token["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope=granted, issued_after=before)


def test_authlib_reports_invalid_scope(issuer: Issuer, client_pair: tuple[Client, str]) -> None:
    client, secret = client_pair
    with AuthlibSession(client.client_id, secret, scope="email") as session, \
            pytest.raises(OAuthError) as raised:
        session.fetch_token(issuer.token_url, grant_type="client_credentials")
    assert raised.value.error == "invalid_scope"


# private_key_jwt (RFC 7523 §2.2): Authlib signs the assertion, as its documentation shows.

def authlib_key(keyed: KeyedClient, alg: str) -> object:
    """What Authlib's ``PrivateKeyJWT`` signs with: the PEM for RSA (it imports it as an RSA
    key), a joserfc key object for the others."""
    if alg == "ES256":
        return ECKey.import_key(keyed.pem)
    if alg == "Ed25519":
        return OKPKey.import_key(keyed.pem)
    return keyed.pem


@pytest.mark.parametrize(("kind", "alg"), [("rsa", "RS256"), ("rsa", "PS256"),
                                           ("ec", "ES256"),
                                           # joserfc signs Ed25519 keys as RFC 9864 names them
                                           ("ed25519", "Ed25519")])
def test_authlib_private_key_jwt_gets_a_token_that_works_on_the_api(
    issuer: Issuer, make_keyed_client: Callable[..., KeyedClient], kind: str, alg: str,
) -> None:
    keyed = make_keyed_client(kind)
    client = keyed.client
    before = time.time()
    auth = PrivateKeyJWT(issuer.token_url, alg=alg, headers={"kid": keyed.kid})
    with AuthlibSession(client.client_id, authlib_key(keyed, alg),
                        token_endpoint_auth_method=auth, scope="address") as session:
        sent = record_requests(session)
        token = session.fetch_token(issuer.token_url, grant_type="client_credentials")
        api = session.get(issuer.url + "/api/address", timeout=10)

    assert "Authorization" not in sent[0].headers  # no Basic: the assertion is the credential
    form = parse_qs(body_text(sent[0]))
    assert form["client_assertion_type"] == [ASSERTION_TYPE]
    assertion = form["client_assertion"][0]
    assert jwt.get_unverified_header(assertion)["alg"] == alg
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["iss"] == claims["sub"] == client.client_id
    assert claims["aud"] == issuer.token_url
    assert "client_secret" not in form
    assert token["token_type"] == "Bearer" and token["scope"] == "address"
    check_access_token(token["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope="address", issued_after=before)
    assert api.status_code == 200, api.text
    assert api.json()["client_id"] == client.client_id
    assert api.json()["scopes"] == ["address"]


def test_authlib_private_key_jwt_with_another_key_is_invalid_client(
    issuer: Issuer, make_keyed_client: Callable[..., KeyedClient],
) -> None:
    keyed, other = make_keyed_client("rsa"), make_keyed_client("rsa")
    auth = PrivateKeyJWT(issuer.token_url, headers={"kid": keyed.kid})
    with AuthlibSession(keyed.client.client_id, other.pem,
                        token_endpoint_auth_method=auth) as session, \
            pytest.raises(OAuthError) as raised:
        session.fetch_token(issuer.token_url, grant_type="client_credentials")
    assert raised.value.error == "invalid_client"
