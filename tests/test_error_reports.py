"""An unexpected error while a secret or a token is in hand: Django's error reports to the
site's ADMINS (``AdminEmailHandler``, with its HTML part) never show it.

Django shows every variable on the DEBUG page by design; in production (``DEBUG = False``) its
``SafeExceptionReporterFilter`` hides what ``sensitive_variables`` and
``sensitive_post_parameters`` name, and these tests prove that we name everything that holds
a secret or a token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import django
import pytest
from django.core import mail
from django.db import OperationalError
from django.test import Client as HttpClient
from django.utils.log import AdminEmailHandler

from oauth_cc import acceptance, state
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client
from oauth_cc.models import clients as client_models
from oauth_cc.testing import mint_token
from tests.helpers import basic, post_form

pytestmark = pytest.mark.django_db

CLEANSED = "********************"  # what Django's SafeExceptionReporterFilter shows instead


@pytest.fixture
def report(settings) -> Iterator[HttpClient]:
    """A client whose server errors are e-mailed to ADMINS with every frame's variables."""
    settings.DEBUG = False
    # Django 6 takes plain addresses and deprecates the (name, address) pairs 5.2 needs.
    settings.ADMINS = ["ops@example.com"] if django.VERSION >= (6, 0) else [
        ("Ops", "ops@example.com")]
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield HttpClient(raise_request_exception=False)
    finally:
        logger.removeHandler(handler)


def assert_hidden(response, *values: str) -> None:
    assert response.status_code == 500
    # Django's own mail_admins handler may send a text-only copy too: ours has the HTML part.
    (message,) = [m for m in mail.outbox if m.alternatives]
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "Traceback" in part and CLEANSED in part  # the frames are there, cleansed
        for value in values:
            assert value not in part


def fail(*args, **kwargs):
    raise OperationalError("the database went away")


@pytest.mark.parametrize("via", ["post", "basic"])
def test_token_endpoint_during_a_database_outage(report, oauth_client, monkeypatch, via):
    client, secret = oauth_client
    monkeypatch.setattr(Client.objects, "record", fail)
    data = {"grant_type": "client_credentials"}
    if via == "basic":
        response = post_form(report, "/oauth/token", data,
                             HTTP_AUTHORIZATION=basic(client.client_id, secret))
    else:
        response = post_form(report, "/oauth/token",
                             {**data, "client_id": client.client_id, "client_secret": secret})
    assert_hidden(response, secret)


def test_previous_secret_check(report, oauth_client, monkeypatch, settings):
    client, _ = oauth_client
    client.regenerate_secret(grace_seconds=60)  # the old secret is checked on a mismatch
    monkeypatch.setattr(client_models.clock, "now", fail)
    guess = "a-guessed-secret-" + "x" * 26
    response = post_form(report, "/oauth/token", {"grant_type": "client_credentials",
                                                  "client_id": client.client_id,
                                                  "client_secret": guess})
    assert_hidden(response, guess)


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_introspection_and_revocation(report, oauth_client, monkeypatch, path):
    client, secret = oauth_client
    token = mint_token(client)
    monkeypatch.setattr(key_ring, "verification_key", fail)
    response = post_form(report, path, {"token": token, "client_id": client.client_id,
                                        "client_secret": secret})
    assert_hidden(response, secret, token, token.split(".")[1], token.split(".")[2])


@pytest.mark.parametrize("where", ["client state", "verified-token cache"])
def test_bearer_authentication(report, oauth_client, monkeypatch, where):
    # The hot path's inner frames (acceptance.accept, _verify) carry no mark of their own:
    # authenticate()'s sensitive_variables() must hide them.
    client, _ = oauth_client
    token = mint_token(client)
    if where == "client state":
        monkeypatch.setattr(state, "check", fail)
    else:
        monkeypatch.setattr(acceptance._verified, "put", fail)
    response = report.get("/api/address", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_hidden(response, token.split(".")[1], token.split(".")[2])
