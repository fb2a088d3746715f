"""Scope strings (RFC 6749 §3.3): parsing, formatting, and what a client may be granted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from oauth_cc.exceptions import InvalidScope

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII but space, '"' and '\'.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
MAX_SCOPE_LENGTH = 64
# RFC 6749 §3.3 sets no bound on how many scopes a request names; we do, so one request costs
# bounded work, and so a token carrying them (each up to MAX_SCOPE_LENGTH) stays well within
# verification.MAX_TOKEN_LENGTH.
MAX_REQUESTED_SCOPES = 64
# Scopes a client may be allowed that are permissions of the client itself, never granted
# inside an access token: "introspection" lets a client introspect other clients' tokens.
CLIENT_PERMISSIONS = frozenset({"introspection"})


def is_valid_scope_name(name: str) -> bool:
    return len(name) <= MAX_SCOPE_LENGTH and SCOPE_TOKEN.fullmatch(name) is not None


def parse_scope(value: str) -> list[str]:
    """Split a space-delimited scope string into names, in order, without duplicates.

    Runs of spaces are tolerated (some clients send them). Raises ``InvalidScope`` for a
    character outside scope-token, or for more than ``MAX_REQUESTED_SCOPES`` distinct names.
    """
    # A dict keeps the order and finds a duplicate in constant time: linear in the input.
    names: dict[str, None] = {}
    for name in value.split(" "):
        if not name or name in names:
            continue
        if not is_valid_scope_name(name):
            raise InvalidScope("The scope parameter contains characters that are not allowed.")
        names[name] = None
        if len(names) > MAX_REQUESTED_SCOPES:
            raise InvalidScope(f"The scope parameter names more than {MAX_REQUESTED_SCOPES} "
                               f"scopes; a request may name at most {MAX_REQUESTED_SCOPES}.")
    return list(names)


def format_scope(names: Iterable[str]) -> str:
    return " ".join(names)


def grant(requested: str | None, permitted: Sequence[str]) -> list[str]:
    """The scopes to grant: all permitted when none are requested, else exactly the requested.

    Raises ``InvalidScope`` naming the first requested scope the client may not have.
    """
    names = parse_scope(requested or "")
    allowed = set(permitted) - CLIENT_PERMISSIONS
    if not names:
        return sorted(allowed)
    for name in names:
        if name in CLIENT_PERMISSIONS:
            raise InvalidScope(f"{name!r} is a permission of the client, not a scope a token "
                               "can carry.")
        if name not in allowed:
            raise InvalidScope(f"The scope {name!r} is unknown or not permitted for this client.")
    return names
