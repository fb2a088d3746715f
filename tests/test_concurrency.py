"""Races on the signing keys, on PostgreSQL: several connections at once, one active key."""

from __future__ import annotations

import pytest
from django.db import connection

from oauth_cc.models import SigningKey
from tests.helpers import all_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs concurrent transactions: run with DATABASE_URL=postgres://"),
]
WORKERS = 6


def race(action):
    return all_at_once(WORKERS, action)


def assert_invariants():
    states = list(SigningKey.objects.values_list("state", flat=True))
    assert states.count("active") == 1
    assert states.count("next") == 1


def test_first_key_race_creates_exactly_one_active_key():
    kids = race(lambda: SigningKey.objects.active().kid)
    assert len(set(kids)) == 1
    assert SigningKey.objects.get(state="active").kid == kids[0]
    assert_invariants()


def test_concurrent_rotations_keep_one_active_and_one_next_key():
    SigningKey.objects.active()
    kids = race(lambda: SigningKey.objects.rotate().kid)
    assert len(set(kids)) == WORKERS  # each rotation promoted a different key
    assert_invariants()
    assert SigningKey.objects.filter(state="retired").count() == WORKERS
