"""The audit trail: each security event is a Django signal and a structured log record.

Records go to the ``oauth_cc`` logger at INFO (WARNING for failed client authentications)
with the event's fields in ``extra={"oauth_cc": {...}}`` and as ``key=value`` text. They never
hold a secret or a whole token: a token is named by its ``jti``.

Connect to the signals to feed your own audit store; every signal sends ``event`` (its name)
and the fields listed beside it.

Events that change a client also name who made the change, ``actor``: the username of the
person acting through the admin or the customer portal (set with ``acting()``), or None for
code that runs outside a request (management commands, a site's own code).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("oauth_cc")

# client_id, project_id, jti, scope, expires_in, token_type (Bearer or DPoP), remote_addr
token_issued = Signal()
client_authentication_failed = Signal()  # client_id, remote_addr, reason, endpoint
token_quota_exceeded = Signal()  # client_id, project_id, limit, retry_after, remote_addr
token_revoked = Signal()  # client_id, jti
client_created = Signal()  # client_id, project_id, name, actor
client_updated = Signal()  # client_id, project_id, fields (the names of what changed), actor
client_disabled = Signal()  # client_id, project_id, actor
client_enabled = Signal()  # client_id, project_id, actor
client_secret_regenerated = Signal()  # client_id, grace_seconds, actor
client_deleted = Signal()  # client_id, project_id, name, actor
signing_key_rotated = Signal()  # kid, algorithm, retired_kid
signing_key_retired = Signal()  # kid

_WARNINGS = {"client_authentication_failed", "token_quota_exceeded"}
# The events a person causes, which name them. Token events name the client instead.
ACTOR_EVENTS = frozenset({"client_created", "client_updated", "client_disabled",
                          "client_enabled", "client_secret_regenerated", "client_deleted"})

# Who is acting in this thread (or asyncio task): set by the admin and the portal around
# the request that makes the change. A context variable, so that events emitted deep down
# (a post_save receiver, a cascade delete) name the actor without it being passed along.
_actor: ContextVar[str | None] = ContextVar("oauth_cc_audit_actor", default=None)


def actor_name(actor: Any) -> str | None:
    """The name an audit record gives ``actor``: a user's ``get_username()``, a string as it
    is, or None (nobody: a command, or an anonymous user)."""
    if actor is None or isinstance(actor, str):
        return actor
    if not getattr(actor, "is_authenticated", False):
        return None
    return str(actor.get_username())


@contextmanager
def acting(actor: Any) -> Iterator[None]:
    """Within the block, client events name ``actor`` (a user, a username, or None)."""
    token = _actor.set(actor_name(actor))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str | None:
    """The actor that ``acting()`` set here, or None."""
    return _actor.get()


def emit(signal: Signal, event: str, **fields: Any) -> None:
    """Send ``signal`` and log the event. ``fields`` must hold nothing secret.

    Free when nobody listens and the log level filters the record out: this runs on every
    token request. Events in ``ACTOR_EVENTS`` get the ``actor`` field from ``acting()``.
    """
    if event in ACTOR_EVENTS and "actor" not in fields:
        fields["actor"] = _actor.get()
    if signal.has_listeners():
        signal.send(sender=emit, event=event, **fields)
    level = logging.WARNING if event in _WARNINGS else logging.INFO
    if not logger.isEnabledFor(level):
        return
    # Strings are quoted and escaped: a client id from a request may hold a line break.
    text = " ".join([f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}"
                     for name, value in fields.items()])
    logger.log(level, "%s %s", event, text, extra={"oauth_cc": {"event": event, **fields}})
