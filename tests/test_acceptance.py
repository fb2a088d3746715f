"""What this site accepts (acceptance.py): the verified-token cache changes no answer, only
how often the signature is checked."""

from __future__ import annotations

import pytest

from oauth_cc import acceptance
from oauth_cc.exceptions import InvalidToken, UnknownProject
from oauth_cc.keyring import key_ring
from oauth_cc.models import RevokedToken, SigningKey, SigningKeyState
from oauth_cc.testing import bearer, mint_token
from tests.helpers import record_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def signature_checks(monkeypatch):
    """How many times the signature was verified."""
    return record_calls(monkeypatch, acceptance, "verify_with_key")


def test_a_reused_token_is_verified_once(oauth_client, frozen_clock, signature_checks):
    client, _ = oauth_client
    token = mint_token(client)
    for _ in range(5):
        assert acceptance.verify_access_token(token).client_id == client.client_id
    assert len(signature_checks) == 1


def test_each_use_gets_its_own_verified_token(http, oauth_client, frozen_clock):
    """request.auth.project is read per request: a cached token must not carry it along."""
    client, _ = oauth_client
    token = mint_token(client)
    first, second = acceptance.verify_access_token(token), acceptance.verify_access_token(token)
    assert first is not second
    assert first.project == second.project == client.project
    client.project.name = "renamed"
    client.project.save()
    assert acceptance.verify_access_token(token).project.name == "renamed"


def test_no_use_of_a_token_can_change_what_later_uses_see(oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    for _ in range(2):  # the first use, then one served from the cache
        verified = acceptance.verify_access_token(token)
        with pytest.raises(TypeError):
            verified.claims["client_id"] = "someone-else"  # type: ignore[index]
    assert acceptance.verify_access_token(token).client_id == client.client_id


def test_a_cached_token_expires_on_time(oauth_client, frozen_clock, signature_checks):
    client, _ = oauth_client
    token = mint_token(client, expires_in=60)
    acceptance.verify_access_token(token)
    frozen_clock.advance(60 + 29)  # within the leeway
    acceptance.verify_access_token(token)
    frozen_clock.advance(1)
    with pytest.raises(InvalidToken, match="expired"):
        acceptance.verify_access_token(token)


def test_a_cached_token_is_judged_strictly_where_asked(oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client, expires_in=60)
    acceptance.verify_access_token(token)
    frozen_clock.advance(60)
    acceptance.verify_access_token(token)  # the leeway
    with pytest.raises(InvalidToken, match="expired"):
        acceptance.verify_access_token(token, strict_expiry=True)


def test_a_cached_token_of_a_disabled_client_is_refused_at_once(oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    acceptance.verify_access_token(token)
    client.is_active = False
    client.save()
    with pytest.raises(InvalidToken, match="disabled"):
        acceptance.verify_access_token(token)


def test_a_cached_token_that_is_revoked_is_refused(oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    verified = acceptance.verify_access_token(token)
    RevokedToken.objects.revoke(jti=verified.jti, client_id=client.client_id,
                                expires_at=verified.expires_at)
    with pytest.raises(InvalidToken, match="revoked"):
        acceptance.verify_access_token(token)


def test_a_cached_token_of_a_deleted_client_is_1025(oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    acceptance.verify_access_token(token)
    client.delete()
    with pytest.raises(UnknownProject):
        acceptance.verify_access_token(token)


def test_a_cached_token_whose_key_left_the_key_set_is_refused(oauth_client, frozen_clock,
                                                              signature_checks):
    client, _ = oauth_client
    token = mint_token(client)
    acceptance.verify_access_token(token)
    # The key is pruned elsewhere: this worker sees it within STATE_TTL_SECONDS.
    SigningKey.objects.filter(kid=key_ring.signing_key().kid).update(
        state=SigningKeyState.RETIRED, retired_at="2000-01-01T00:00:00Z")
    frozen_clock.advance(5)
    with pytest.raises(InvalidToken, match="unknown key"):
        acceptance.verify_access_token(token)


def test_long_tokens_are_not_cached(oauth_client, frozen_clock, signature_checks):
    client, _ = oauth_client
    token = mint_token(client, scopes=[f"{'s' * 58}-{i:03}" for i in range(60)])
    assert len(token) > acceptance.MAX_CACHED_TOKEN_LENGTH
    acceptance.verify_access_token(token)
    acceptance.verify_access_token(token)
    assert len(signature_checks) == 2
    assert acceptance._verified.get(token) is None


def test_forged_tokens_are_never_cached(oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}AA"
    for _ in range(2):
        with pytest.raises(InvalidToken):
            acceptance.verify_access_token(forged)
    assert acceptance._verified.get(forged) is None


def test_the_cache_is_bounded(oauth_client, frozen_clock, monkeypatch):
    client, _ = oauth_client
    monkeypatch.setattr(acceptance._verified, "limit", 3)
    tokens = [mint_token(client) for _ in range(5)]
    for token in tokens:
        acceptance.verify_access_token(token)
    assert len(acceptance._verified) == 3
    assert acceptance._verified.get(tokens[0]) is None


def test_a_warm_request_with_a_reused_token_makes_no_query_and_no_signature_check(
        http, oauth_client, frozen_clock, signature_checks, django_assert_num_queries):
    client, _ = oauth_client
    token = mint_token(client)
    assert http.get("/api/address", headers=bearer(token)).status_code == 200
    with django_assert_num_queries(0):
        for _ in range(3):
            assert http.get("/api/address", headers=bearer(token)).status_code == 200
    assert len(signature_checks) == 1
