"""``replay.first_use``: a JWT's ``jti`` is accepted once per owner, in the shared cache."""

from __future__ import annotations

from typing import Any

from oauth_cc import replay


def test_a_jti_is_accepted_once_per_owner():
    assert replay.first_use("test:", "client-a", "jti-1", 60)
    assert not replay.first_use("test:", "client-a", "jti-1", 60)
    # Another owner's jti is its own: nobody can use up someone else's.
    assert replay.first_use("test:", "client-b", "jti-1", 60)
    assert replay.first_use("other:", "client-a", "jti-1", 60)


def test_the_record_lives_the_seconds_asked_at_least_one_under_a_hashed_key(monkeypatch):
    added: list[tuple[str, int]] = []

    class Cache:
        def add(self, key: str, value: Any, timeout: int) -> bool:
            added.append((key, timeout))
            return True

    monkeypatch.setattr(replay, "shared_cache", Cache)
    replay.first_use("test:", "client-a", "a jti with spaces\n", 10.2)
    replay.first_use("test:", "client-a", "late", -5)
    assert [timeout for _, timeout in added] == [11, 1]
    key = added[0][0]
    assert key.startswith("test:") and len(key) == len("test:") + 40
    assert " " not in key and "\n" not in key


def test_any_text_is_a_jti_a_lone_surrogate_included():
    # JWS parsing refuses a lone surrogate escape; this keeps the hashing total over str,
    # and apart: each distinct text is its own record.
    assert replay.first_use("test:", "client-a", "\ud800", 60)
    assert not replay.first_use("test:", "client-a", "\ud800", 60)
    assert replay.first_use("test:", "client-a", "\udfff", 60)
    assert replay.first_use("test:", "\ud800", "\ud800", 60)
