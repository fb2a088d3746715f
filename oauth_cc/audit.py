"""The audit trail: each security event is a Django signal and a structured log record.

Records go to the ``oauth_cc`` logger at INFO (WARNING for failed client authentications)
with the event's fields in ``extra={"oauth_cc": {...}}`` and as ``key=value`` text. They never
hold a secret or a whole token: a token is named by its ``jti``.

Connect to the signals to feed your own audit store; every signal sends ``event`` (its name)
and the fields listed beside it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("oauth_cc")

token_issued = Signal()  # client_id, project_id, jti, scope, expires_in, remote_addr
client_authentication_failed = Signal()  # client_id, remote_addr, reason, endpoint
token_revoked = Signal()  # client_id, jti
client_created = Signal()  # client_id, project_id, name
client_disabled = Signal()  # client_id, project_id
client_enabled = Signal()  # client_id, project_id
client_secret_regenerated = Signal()  # client_id, grace_seconds
signing_key_rotated = Signal()  # kid, algorithm, retired_kid
signing_key_retired = Signal()  # kid

_WARNINGS = {"client_authentication_failed"}


def emit(signal: Signal, event: str, **fields: Any) -> None:
    """Send ``signal`` and log the event. ``fields`` must hold nothing secret.

    Free when nobody listens and the log level filters the record out: this runs on every
    token request.
    """
    if signal.has_listeners():
        signal.send(sender=emit, event=event, **fields)
    level = logging.WARNING if event in _WARNINGS else logging.INFO
    if not logger.isEnabledFor(level):
        return
    # Strings are quoted and escaped: a client id from a request may hold a line break.
    text = " ".join(f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}"
                    for name, value in fields.items())
    logger.log(level, "%s %s", event, text, extra={"oauth_cc": {"event": event, **fields}})
