"""Reading the form and the client's credentials (client_auth.py), at every endpoint that
takes them."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from tests.helpers import basic

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


@pytest.mark.django_db(transaction=True)
def test_a_chunked_request_to_a_real_server(live_server, oauth_client):
    client, secret = oauth_client
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        body = iter([b"grant_type=", b"client_credentials"])
        connection.request("POST", "/oauth/token", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": basic(client.client_id, secret),
                                    "Connection": "close"}, encode_chunked=True)
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    assert body["error"] == "invalid_request"
    assert "chunked" in body["error_description"]
