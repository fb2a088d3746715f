"""Reading the form and the client's credentials (client_auth.py), at every endpoint that
takes them."""

from __future__ import annotations

import json
import socket
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
