"""SigningKey states, first use, rotation, publication and pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from oauth_cc.clock import now_datetime
from oauth_cc.keyring import key_ring
from oauth_cc.models import SigningKey, SigningKeyState, retired_key_lifetime

pytestmark = pytest.mark.django_db

ACTIVE, NEXT, RETIRED = SigningKeyState.ACTIVE, SigningKeyState.NEXT, SigningKeyState.RETIRED


def states():
    return {k.kid: k.state for k in SigningKey.objects.all()}


def test_first_use_creates_an_active_and_a_next_key():
    key = SigningKey.objects.active()
    assert key.state == ACTIVE
    assert key.activated_at is not None
    assert sorted(states().values()) == [ACTIVE, NEXT]
    assert SigningKey.objects.active() == key  # and only once


def test_private_key_is_encrypted_in_the_database():
    SigningKey.objects.active()
    for ciphertext in SigningKey.objects.values_list("private_key_ciphertext", flat=True):
        assert "PRIVATE KEY" not in ciphertext
        assert ciphertext.startswith("aes256gcm-v1$")


def test_only_one_active_and_one_next_key_can_exist():
    SigningKey.objects.active()
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create_key(ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create_key(NEXT)


def test_active_loses_a_race_gracefully(monkeypatch):
    """The loser of the first-key race reads the winner's key instead of failing."""
    winner = SigningKey.objects.create_key(ACTIVE)
    real_filter = SigningKey.objects.filter
    calls = {"n": 0}

    def stale_first_look(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the loser's first look saw no active key yet
            return real_filter(pk=-1)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(SigningKey.objects, "filter", stale_first_look)
    assert SigningKey.objects.active() == winner
    assert SigningKey.objects.model.objects.filter(state=ACTIVE).count() == 1


def test_rotation_promotes_next_retires_active_and_creates_next(frozen_clock):
    first = SigningKey.objects.active()
    upcoming = SigningKey.objects.get(state=NEXT)
    frozen_clock.advance(60)
    promoted = SigningKey.objects.rotate()
    assert promoted.kid == upcoming.kid
    first.refresh_from_db()
    assert first.state == RETIRED
    assert first.retired_at.timestamp() == frozen_clock.at
    assert promoted.activated_at.timestamp() == frozen_clock.at
    assert sorted(states().values()) == [ACTIVE, NEXT, RETIRED]
    new_next = SigningKey.objects.get(state=NEXT)
    assert new_next.kid not in {first.kid, upcoming.kid}


def test_rotation_with_no_keys_at_all():
    key = SigningKey.objects.rotate()
    assert key.state == ACTIVE
    assert sorted(states().values()) == [ACTIVE, NEXT]


def test_a_new_algorithm_signs_only_after_it_was_published_as_next():
    SigningKey.objects.active()
    old_next = SigningKey.objects.get(state=NEXT)
    key = SigningKey.objects.rotate("ES256")
    assert key.kid == old_next.kid  # the published RS256 next key is promoted...
    assert key.algorithm == "RS256"
    upcoming = SigningKey.objects.get(state=NEXT)
    assert upcoming.algorithm == "ES256"  # ...and the ES256 key waits its turn, published
    key = SigningKey.objects.rotate()
    assert key.kid == upcoming.kid
    assert key.algorithm == "ES256"
    assert SigningKey.objects.get(state=NEXT).algorithm == "ES256"


def test_with_no_next_key_the_algorithm_applies_at_once():
    key = SigningKey.objects.rotate("EdDSA")
    assert key.algorithm == "EdDSA"


def test_rotation_in_this_process_changes_the_signing_key_at_once():
    assert key_ring.signing_key().kid == SigningKey.objects.active().kid
    new = SigningKey.objects.rotate()
    assert key_ring.signing_key().kid == new.kid


def test_another_process_rotation_is_seen_within_state_ttl(frozen_clock):
    before = key_ring.signing_key()
    # Rotate "elsewhere": change the rows without this process's signals.
    upcoming = SigningKey.objects.get(state=NEXT)
    SigningKey.objects.filter(state=ACTIVE).update(state=RETIRED, retired_at=now_datetime())
    SigningKey.objects.filter(pk=upcoming.pk).update(state=ACTIVE)
    frozen_clock.advance(4.9)
    assert key_ring.signing_key().kid == before.kid
    frozen_clock.advance(0.2)
    assert key_ring.signing_key().kid == upcoming.kid


def test_published_keys_and_retirement_window(frozen_clock):
    first = SigningKey.objects.active()
    second = SigningKey.objects.rotate()
    third = SigningKey.objects.rotate()
    upcoming = SigningKey.objects.get(state=NEXT)
    published = {k.kid for k in SigningKey.objects.published()}
    assert published == {first.kid, second.kid, third.kid, upcoming.kid}
    lifetime = retired_key_lifetime()
    assert lifetime == timedelta(seconds=3600 + 30 + 5)
    frozen_clock.advance(lifetime.total_seconds() - 1)
    assert first.kid in {k.kid for k in SigningKey.objects.published()}
    frozen_clock.advance(1)
    assert first.kid not in {k.kid for k in SigningKey.objects.published()}


def test_prune_removes_only_keys_that_verify_nothing(frozen_clock):
    first = SigningKey.objects.active()
    SigningKey.objects.rotate()
    assert SigningKey.objects.prune() == []
    frozen_clock.advance(retired_key_lifetime().total_seconds())
    assert SigningKey.objects.prune() == [first.kid]
    assert sorted(states().values()) == [ACTIVE, NEXT]


def test_repr_and_str_show_no_private_material():
    key = SigningKey.objects.active()
    for text in (repr(key), str(key)):
        assert key.private_key_ciphertext[:20] not in text
        assert key.kid in text
