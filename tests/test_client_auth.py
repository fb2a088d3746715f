"""Reading the form and the client's credentials (client_auth.py), at every endpoint that
takes them: secrets, and client assertions (private_key_jwt)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode, urlsplit

import pytest

from tests.helpers import basic, post_form

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_without_content_length_is_named_as_the_problem(http, oauth_client, path):
    """A chunked body has no CONTENT_LENGTH under WSGI: say so, not "grant_type is missing"."""
    client, secret = oauth_client
    response = http.generic("POST", path, b"grant_type=client_credentials&token=x",
                            content_type="application/x-www-form-urlencoded",
                            CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
                            HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "Content-Length" in response.json()["error_description"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("length", "text"), [("-1", "not a number of bytes"),
                                              ("x", "not a number"), ("1e3", "not a number")])
def test_a_content_length_that_is_no_length_is_invalid_request(http, oauth_client, path,
                                                               length, text):
    # A negative one was read as "no body": the client was told its credentials were missing.
    client, secret = oauth_client
    response = http.generic("POST", path, b"grant_type=client_credentials&token=x",
                            content_type="application/x-www-form-urlencoded",
                            CONTENT_LENGTH=length,
                            HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert f"Content-Length header is {text}" in response.json()["error_description"]


@pytest.mark.django_db(transaction=True)
def test_a_chunked_request_to_a_real_server(live_server, oauth_client):
    client, secret = oauth_client
    address = urlsplit(live_server.url)
    body = b"b\r\ngrant_type=\r\n12\r\nclient_credentials\r\n0\r\n\r\n"
    request = (f"POST /oauth/token HTTP/1.1\r\nHost: {address.netloc}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n"
               f"Authorization: {basic(client.client_id, secret)}\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + body
    # One write, so the server has read the whole request before it answers and closes: a
    # chunk still unread then would reset the connection under the answer.
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    body_json = json.loads(payload)
    assert body_json["error"] == "invalid_request"
    assert "chunked" in body_json["error_description"]


# private_key_jwt: the shape of a request with a client assertion, at every endpoint


def _form(path, **params):
    base = {"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "x"}
    return {**base, **params}


@pytest.fixture
def pk_client(scopes):
    """A private_key_jwt client and its key."""
    from oauth_cc.models import Client
    from tests.test_client_assertion import private_key, public_jwk

    key = private_key()
    return Client.objects.create_secretless_client(
        "pkjwt", scopes=["address"], jwks={"keys": [public_jwk(key)]}), key


@pytest.fixture
def assertion(pk_client, frozen_clock):
    from tests.test_client_assertion import claims_for, sign

    client, key = pk_client
    return sign(key, claims_for(client.client_id))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_assertion_with_a_basic_secret_is_two_methods(http, pk_client, assertion, path):
    from tests.test_client_assertion import assertion_params

    client, _ = pk_client
    response = post_form(http, path, _form(path, **assertion_params(assertion)),
                         HTTP_AUTHORIZATION=basic(client.client_id, "secret"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "not both" in response.json()["error_description"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("with_client_id", [True, False])
def test_an_assertion_with_a_body_secret_is_two_methods(http, pk_client, assertion, path,
                                                        with_client_id):
    from tests.test_client_assertion import assertion_params

    client, _ = pk_client
    extra = {"client_id": client.client_id} if with_client_id else {}
    response = post_form(http, path, _form(path, client_secret="secret", **extra,
                                           **assertion_params(assertion)))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("name", ["client_assertion", "client_assertion_type"])
def test_an_assertion_in_the_query_is_refused(http, pk_client, assertion, path, name):
    from tests.test_client_assertion import assertion_params

    params = assertion_params(assertion)
    response = post_form(http, f"{path}?{urlencode({name: params[name]})}",
                         _form(path, **params))
    assert response.status_code == 400
    assert "URL query" in response.json()["error_description"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("params", "text"), [
    ({"client_assertion": "{assertion}"}, "client_assertion_type parameter is missing"),
    ({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
      "client_assertion": "{assertion}"}, "Unsupported client_assertion_type"),
    ({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer "
                               "", "client_assertion": "{assertion}"}, "Unsupported"),
    ({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
     "client_assertion parameter is missing"),
    ({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      "client_assertion": ""}, "client_assertion parameter is missing"),
])
def test_an_assertion_without_its_type_or_a_type_without_it(http, pk_client, assertion,
                                                            path, params, text):
    """RFC 6749 §5.2: no client authentication this server supports is invalid_client."""
    params = {name: value.format(assertion=assertion) for name, value in params.items()}
    response = post_form(http, path, _form(path, **params))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert text in response.json()["error_description"]
    assert assertion not in response.content.decode()


@pytest.mark.django_db
def test_an_assertion_with_the_same_client_id_in_the_body_is_fine(http, pk_client,
                                                                  assertion):
    from tests.test_client_assertion import assertion_params

    client, _ = pk_client
    response = post_form(http, "/oauth/token",
                         _form("/oauth/token", client_id=client.client_id,
                               **assertion_params(assertion)))
    assert response.status_code == 200
