"""The signing keys a worker remembers (oauth_cc/keyring.py): what it reads, and how often."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import override_settings

from oauth_cc import keys, process_cache
from oauth_cc.clock import now_datetime
from oauth_cc.keyring import SigningMaterial, key_ring
from oauth_cc.models import SigningKey, SigningKeyState
from tests.helpers import record_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oauth_cc_defaults")]

ISSUER = "https://issuer.test"
STATE_TTL = 5
REFETCH = 30


@pytest.fixture
def slow_state() -> Iterator[None]:
    """A STATE_TTL that never passes in a test, to count the unknown-kid reloads alone."""
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "STATE_TTL_SECONDS": 3600,
                                     "JWKS_MIN_REFETCH_SECONDS": REFETCH}):
        yield


def replace_next_elsewhere(algorithm: str = "ES256") -> SigningKey:
    """Replace the next key as another process would: no signal reaches this one's key ring
    (``update`` and ``bulk_create`` send none)."""
    SigningKey.objects.filter(state=SigningKeyState.NEXT).update(
        state=SigningKeyState.RETIRED, retired_at=now_datetime() - timedelta(days=1))
    material = keys.new_key_material(algorithm)
    SigningKey.objects.bulk_create([SigningKey(
        kid=material.kid, algorithm=algorithm, state=SigningKeyState.NEXT,
        public_jwk=material.public_jwk, private_key_ciphertext=material.private_key_ciphertext)])
    return SigningKey.objects.get(kid=material.kid)


def test_the_first_use_creates_the_signing_keys(django_assert_num_queries):
    assert not SigningKey.objects.exists()
    signing = key_ring.signing_key()
    active = SigningKey.objects.get(state=SigningKeyState.ACTIVE)
    assert SigningKey.objects.filter(state=SigningKeyState.NEXT).count() == 1
    assert isinstance(signing, SigningMaterial)
    assert (signing.kid, signing.algorithm) == (active.kid, active.algorithm) == (
        signing.kid, "RS256")
    # The private key is the one whose public half is published.
    assert keys.public_jwk(signing.private_key.public_key()) == active.public_jwk
    with django_assert_num_queries(0):
        assert key_ring.signing_key() == signing


def test_the_signing_algorithm_setting_applies_to_the_first_key():
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "SIGNING_ALGORITHM": "EdDSA"}):
        signing = key_ring.signing_key()
    assert signing.algorithm == "EdDSA"
    assert SigningKey.objects.get(kid=signing.kid).algorithm == "EdDSA"


def test_the_active_key_is_reread_every_state_ttl(frozen_clock, django_assert_num_queries):
    key_ring.signing_key()
    frozen_clock.advance(STATE_TTL - 0.01)
    with django_assert_num_queries(0):
        key_ring.signing_key()
    frozen_clock.advance(0.01)
    with django_assert_num_queries(1):
        key_ring.signing_key()


def test_a_private_key_is_decrypted_once_per_kid(monkeypatch):
    loads = record_calls(monkeypatch, keys, "load_private_key", argument=1)  # the kid
    first = key_ring.signing_key()
    key_ring.forget_active()
    again = key_ring.signing_key()
    assert loads == [first.kid]
    assert again.private_key is first.private_key
    new = SigningKey.objects.rotate()
    assert key_ring.signing_key().kid == new.kid
    assert loads == [first.kid, new.kid]


def test_a_rotation_here_is_seen_at_once(slow_state, frozen_clock):
    before = key_ring.signing_key()
    assert key_ring.verification_key(before.kid) is not None
    new = SigningKey.objects.rotate()
    upcoming = SigningKey.objects.get(state=SigningKeyState.NEXT)
    assert key_ring.signing_key().kid == new.kid
    # The new next key is published at once (verifiers know it before it signs), and the
    # retired one still verifies.
    for kid in (before.kid, new.kid, upcoming.kid):
        found = key_ring.verification_key(kid)
        assert found is not None and found.kid == kid


def test_a_published_key_comes_with_its_own_algorithm():
    key_ring.signing_key()
    upcoming = SigningKey.objects.rotate("ES256")  # promotes an RS256 key; next is ES256
    es256 = SigningKey.objects.get(state=SigningKeyState.NEXT)
    assert es256.algorithm == "ES256"
    for row in (upcoming, es256):
        found = key_ring.verification_key(row.kid)
        assert found is not None
        assert found.algorithm == row.algorithm
        assert keys.public_jwk(found.key) == row.public_jwk


def test_known_kids_cost_no_query_until_state_ttl(frozen_clock, django_assert_num_queries):
    kid = key_ring.signing_key().kid
    with django_assert_num_queries(1):
        assert key_ring.verification_key(kid) is not None
    frozen_clock.advance(STATE_TTL - 0.01)
    with django_assert_num_queries(0):
        for _ in range(10):
            assert key_ring.verification_key(kid) is not None
    frozen_clock.advance(0.01)
    with django_assert_num_queries(1):
        assert key_ring.verification_key(kid) is not None


def test_unknown_kids_reread_the_keys_at_most_once_per_refetch_period(
        slow_state, frozen_clock, django_assert_num_queries):
    kid = key_ring.signing_key().kid
    assert key_ring.verification_key(kid) is not None  # the published keys are read
    with django_assert_num_queries(1):
        assert key_ring.verification_key("forged-1") is None
    with django_assert_num_queries(0):
        for index in range(100):
            assert key_ring.verification_key(f"forged-{index}") is None
    frozen_clock.advance(REFETCH - 0.01)
    with django_assert_num_queries(0):
        assert key_ring.verification_key("forged-again") is None
    frozen_clock.advance(0.01)
    with django_assert_num_queries(1):
        assert key_ring.verification_key("forged-again") is None
    with django_assert_num_queries(0):
        assert key_ring.verification_key(kid) is not None  # known kids are unaffected


def test_a_key_made_elsewhere_is_found_by_its_kid_within_the_refetch_period(
        slow_state, frozen_clock):
    key_ring.verification_key(key_ring.signing_key().kid)
    assert key_ring.verification_key("forged") is None  # spends this period's reload
    frozen_clock.advance(1)
    made = replace_next_elsewhere()
    assert key_ring.verification_key(made.kid) is None  # not yet: the period is spent
    frozen_clock.advance(REFETCH - 1)
    found = key_ring.verification_key(made.kid)
    assert found is not None and found.algorithm == "ES256"


def test_a_key_that_leaves_the_jwks_elsewhere_stops_verifying_within_state_ttl(frozen_clock):
    key_ring.signing_key()
    upcoming = SigningKey.objects.get(state=SigningKeyState.NEXT)
    assert key_ring.verification_key(upcoming.kid) is not None
    # Elsewhere: retired long enough ago to be unpublished (update() sends no signal).
    SigningKey.objects.filter(pk=upcoming.pk).update(
        state=SigningKeyState.RETIRED, retired_at=now_datetime() - timedelta(days=1))
    frozen_clock.advance(STATE_TTL - 0.01)
    assert key_ring.verification_key(upcoming.kid) is not None
    frozen_clock.advance(0.01)
    assert key_ring.verification_key(upcoming.kid) is None


def test_a_key_deleted_here_stops_verifying_at_once(slow_state):
    key_ring.signing_key()
    upcoming = SigningKey.objects.get(state=SigningKeyState.NEXT)
    assert key_ring.verification_key(upcoming.kid) is not None
    upcoming.delete()
    assert key_ring.verification_key(upcoming.kid) is None


def test_clearing_the_process_caches_forgets_the_refetch_mark(slow_state, frozen_clock,
                                                               django_assert_num_queries):
    kid = key_ring.signing_key().kid
    key_ring.verification_key(kid)
    key_ring.verification_key("forged")
    with django_assert_num_queries(0):
        key_ring.verification_key("forged")
    process_cache.clear_all()
    with django_assert_num_queries(1):  # the published keys, read again
        assert key_ring.verification_key(kid) is not None
    with django_assert_num_queries(1):  # and the unknown-kid reload is not spent
        assert key_ring.verification_key("forged") is None


def test_signing_material_repr_shows_no_key_material():
    signing = key_ring.signing_key()
    assert repr(signing) == f"<SigningMaterial {signing.kid} {signing.algorithm}>"
    assert "PRIVATE" not in repr(signing) and "private_key" not in repr(signing)
