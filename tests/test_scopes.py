"""scopes.py: scope strings (RFC 6749 §3.3) parsed in linear time, with a bound on the count."""

from __future__ import annotations

import pytest

from oauth_cc import scopes
from oauth_cc.exceptions import InvalidScope
from tests.helpers import record_calls


def names(count: int) -> str:
    return " ".join(f"s{i}" for i in range(count))


def test_order_is_kept_and_duplicates_and_runs_of_spaces_dropped() -> None:
    assert scopes.parse_scope("  phone address  phone ") == ["phone", "address"]
    assert scopes.parse_scope("") == []


def test_up_to_the_bound_is_parsed() -> None:
    assert scopes.MAX_REQUESTED_SCOPES == 64
    assert scopes.parse_scope(names(64)) == [f"s{i}" for i in range(64)]


def test_more_names_than_the_bound_are_refused() -> None:
    with pytest.raises(InvalidScope) as caught:
        scopes.parse_scope(names(65))
    assert caught.value.error == "invalid_scope"
    assert "more than 64 scopes" in caught.value.description


def test_repeating_a_name_does_not_count_toward_the_bound() -> None:
    assert scopes.parse_scope(" ".join(["address", "phone"] * 2000)) == ["address", "phone"]


def test_a_long_list_costs_no_more_than_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 16 KB body of thousands of distinct names is refused after bound + 1 of them.

    Counted, not timed: before, each name was compared with every earlier one (quadratic).
    """
    checked = record_calls(monkeypatch, scopes, "is_valid_scope_name")
    value = names(3000)
    assert len(value) > 15_000
    with pytest.raises(InvalidScope):
        scopes.parse_scope(value)
    assert len(checked) <= scopes.MAX_REQUESTED_SCOPES + 1


def test_grant_is_refused_past_the_bound_before_permissions_are_looked_at() -> None:
    permitted = [f"s{i}" for i in range(100)]
    assert scopes.grant(names(64), permitted) == permitted[:64]
    with pytest.raises(InvalidScope, match="more than 64 scopes"):
        scopes.grant(names(65), permitted)


@pytest.mark.django_db
def test_a_token_with_the_most_and_longest_scopes_still_verifies(frozen_clock: object) -> None:
    """The bound keeps a token within verification.MAX_TOKEN_LENGTH."""
    from oauth_cc.acceptance import verify_signature_and_claims
    from oauth_cc.testing import mint_token
    from oauth_cc.verification import MAX_TOKEN_LENGTH

    longest = [f"{i:02d}".ljust(scopes.MAX_SCOPE_LENGTH, "x")
               for i in range(scopes.MAX_REQUESTED_SCOPES)]
    token = mint_token(scopes=longest)
    assert len(token) <= MAX_TOKEN_LENGTH
    assert verify_signature_and_claims(token).scopes == set(longest)
