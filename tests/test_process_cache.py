"""One switch for every in-process cache (oauth_cc/process_cache.py)."""

from __future__ import annotations

import pytest

from oauth_cc import last_used, process_cache, state
from oauth_cc.keyring import key_ring

pytestmark = pytest.mark.usefixtures("oauth_cc_defaults")


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A registry of its own, so the clearers made here do not outlive the test."""
    monkeypatch.setattr(process_cache, "_clearers", [])
    return []


def test_clear_all_calls_every_registered_clearer_in_order(isolated):
    process_cache.register(lambda: isolated.append("first"))
    process_cache.register(lambda: isolated.append("second"))
    process_cache.clear_all()
    assert isolated == ["first", "second"]
    process_cache.clear_all()
    assert isolated == ["first", "second", "first", "second"]


def test_register_returns_the_clearer_so_it_can_decorate(isolated):
    @process_cache.register
    def clear() -> None:
        isolated.append("cleared")

    assert callable(clear) and clear.__name__ == "clear"
    process_cache.clear_all()
    assert isolated == ["cleared"]


def test_clear_all_with_nothing_registered(isolated):
    process_cache.clear_all()
    assert isolated == []


@pytest.mark.django_db
def test_the_librarys_caches_are_registered(make_client, frozen_clock,
                                            django_assert_num_queries):
    """Each of them reads the database again after clear_all(), as after a restart."""
    client, _ = make_client()

    def use_everything() -> None:
        key_ring.signing_key()
        state.clients.get(client.client_id, remember_missing=False)
        state.revocations.is_revoked("jti")
        last_used.touch(client.pk)

    use_everything()
    with django_assert_num_queries(0):
        use_everything()
    process_cache.clear_all()
    # The active key, the client, the revocations, and the last_used_at write.
    with django_assert_num_queries(4):
        use_everything()
