"""Keeping the client secret and private key out of sight: out of reprs, messages, and
tracebacks' frames.

Error reports (Django's, Sentry's) show every frame's local variables, so the secret is held
in a wrapper that shows as ``[redacted]``, texts from elsewhere are redacted, and the frames of
an unforeseen exception are cleared before it leaves the client.
"""

from __future__ import annotations

import base64
import traceback
from typing import Generic, TypeVar
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

_T = TypeVar("_T")


class Secret(Generic[_T]):
    """A client secret (or a private key as it was given), shown as ``[redacted]``: what lists
    the variables that hold it (the frames of an error report, a debugger) does not show it."""

    __slots__ = ("value",)

    def __init__(self, value: _T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__


def basic_credentials(client_id: str, secret: str) -> str:
    """The HTTP Basic credentials, each part form-urlencoded first (RFC 6749 §2.3.1)."""
    return base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()


def redact(text: str, client_id: str, secret: str) -> str:
    """``text`` without the secret in any form a request or a URL could carry it: as it is,
    form- or percent-encoded, or inside the Basic credentials."""
    forms = {secret, quote_plus(secret), quote(secret, safe=""),
             basic_credentials(client_id, secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def clear_frames(error: BaseException) -> None:
    """Clear the variables of the finished frames in the tracebacks of ``error`` and of the
    exceptions chained to it (its file and line numbers stay, for debugging)."""
    pending: list[BaseException | None] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is not None and id(current) not in seen:
            seen.add(id(current))
            traceback.clear_frames(current.__traceback__)
            pending += [current.__cause__, current.__context__]
