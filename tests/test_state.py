"""What a worker knows of clients and revocations (state.py): one client cache for the token
endpoint and verification, and a revocation list that reloads only what is new."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection

from oauth_cc import clock, state
from oauth_cc.models import Client, RevokedToken
from tests.helpers import record_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def puts(monkeypatch):
    """The jtis each reload of the revocation list reads."""
    return record_calls(monkeypatch, state.revocations.revoked, "put")


def revoke_elsewhere(jti: str, *, ago: float = 0, lifetime: float = 600) -> None:
    """A revocation committed by another worker (no signal here), its clock ``ago`` behind."""
    now = clock.now_datetime()
    RevokedToken.objects.bulk_create([RevokedToken(
        jti=jti, client_id="c", expires_at=now + timedelta(seconds=lifetime),
        revoked_at=now - timedelta(seconds=ago))])


def test_a_reload_reads_only_what_was_revoked_since_the_last(frozen_clock, puts):
    for i in range(50):
        revoke_elsewhere(f"old-{i}", ago=state.REVOCATION_OVERLAP_SECONDS + 1)
    assert not state.revocations.is_revoked("nothing")  # the first load: every live one
    assert len(puts) == 50
    frozen_clock.advance(5)
    puts.clear()
    revoke_elsewhere("new")
    assert state.revocations.is_revoked("new")
    assert puts == ["new"]
    assert state.revocations.is_revoked("old-7")  # still known


def test_a_revocation_from_a_clock_behind_ours_is_not_missed(frozen_clock):
    assert not state.revocations.is_revoked("late")
    frozen_clock.advance(5)
    revoke_elsewhere("late", ago=30)  # stamped 30 s before our last reload
    frozen_clock.advance(5)
    assert state.revocations.is_revoked("late")


def test_revocations_are_forgotten_only_when_their_token_expires(frozen_clock):
    revoke_elsewhere("short", lifetime=10)
    assert state.revocations.is_revoked("short")
    frozen_clock.advance(10 + 29)  # the leeway: a verifier could still accept it
    assert state.revocations.is_revoked("short")
    frozen_clock.advance(1)
    assert not state.revocations.is_revoked("short")
    frozen_clock.advance(state.PURGE_INTERVAL_SECONDS)
    state.revocations.is_revoked("x")  # a reload drops what has expired, once a minute
    assert "short" not in state.revocations.revoked.keys()  # noqa: SIM118 - held, not fresh


def test_one_record_serves_the_token_endpoint_and_verification(oauth_client, frozen_clock,
                                                               django_assert_num_queries):
    client, _ = oauth_client
    assert state.clients.get(client.client_id, remember_missing=False) is not None
    with django_assert_num_queries(0):
        record = state.clients.get(client.client_id, remember_missing=True)
    assert record is not None and record.scopes == ("address", "phone")


def test_all_known_clients_are_reloaded_in_one_query(make_client, frozen_clock,
                                                     django_assert_num_queries):
    made = [make_client()[0] for _ in range(20)]
    for client in made:
        state.clients.get(client.client_id, remember_missing=True)
    Client.objects.filter(pk=made[3].pk).update(is_active=False)  # elsewhere
    frozen_clock.advance(5)
    with django_assert_num_queries(1):
        records = [state.clients.get(c.client_id, remember_missing=True) for c in made]
    assert [r.is_active for r in records] == [i != 3 for i in range(20)]


def test_unknown_ids_from_requests_are_not_remembered(db, frozen_clock,
                                                      django_assert_num_queries):
    for i in range(10):
        assert state.clients.get(f"guess-{i}", remember_missing=False) is None
    assert len(state.clients.records) == 0
    assert state.clients.get("from-a-token", remember_missing=True) is None
    with django_assert_num_queries(0):
        assert state.clients.get("from-a-token", remember_missing=True) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the scale test is for PostgreSQL")
def test_a_reload_among_200k_live_revocations_costs_what_is_new(frozen_clock, puts):
    """200,000 live revocations: the first load reads them all once; every later reload
    reads the minute of overlap and what is new, so it stays far cheaper than a full read."""
    now = clock.now_datetime()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO oauth_cc_revokedtoken (jti, client_id, expires_at, revoked_at) "
            "SELECT 'bulk-' || n, 'c', %s, %s FROM generate_series(1, 200000) AS n",
            [now + timedelta(hours=1), now - timedelta(minutes=30)])
    started = time.perf_counter()
    state.revocations.is_revoked("x")
    full = time.perf_counter() - started
    assert len(puts) == 200_000
    frozen_clock.advance(5)
    revoke_elsewhere("one-more")
    puts.clear()
    started = time.perf_counter()
    assert state.revocations.is_revoked("one-more")
    incremental = time.perf_counter() - started
    assert puts == ["one-more"]
    assert state.revocations.is_revoked("bulk-123456")
    print(f"\n200k revocations: first load {full * 1000:.0f} ms, "
          f"incremental reload {incremental * 1000:.1f} ms")
    assert incremental < full / 10
