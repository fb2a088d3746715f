"""Email address checks for the demo: syntax and domain, no DNS or mailbox lookup.

Syntax is Django's ``EmailValidator`` (with no ``localhost`` exception). The domain must then
be a public-looking host name: not an address literal, not a name reserved for documentation
or testing (RFC 2606, RFC 6761), which can never receive mail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3: the longest path is 256 octets, with its brackets
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
RESERVED_TLDS = frozenset({"example", "invalid", "localhost", "test", "local"})

_syntax = EmailValidator(allowlist=[])


@dataclass(frozen=True)
class EmailResult:
    """What the verification endpoint answers (without ``success``)."""

    email: str
    is_verified: bool
    domain: str | None = None
    not_verified_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_email(address: str) -> EmailResult:
    """Check ``address``; ``email`` in the result has its domain in lower case."""
    address = address.strip()
    if len(address) > MAX_LENGTH:
        return EmailResult(address, False, None, f"Longer than {MAX_LENGTH} characters.")
    try:
        _syntax(address)
    except ValidationError:
        return EmailResult(address, False, None, "Not a valid email address.")
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    email = f"{local}@{domain}"
    if domain.startswith("["):
        return EmailResult(email, False, domain, "The domain is an address literal, not a name.")
    labels = domain.split(".")
    if len(labels) < 2:
        return EmailResult(email, False, domain, "The domain has no top-level domain.")
    if labels[-1] in RESERVED_TLDS or ".".join(labels[-2:]) in RESERVED_DOMAINS:
        return EmailResult(email, False, domain,
                           "The domain is reserved for examples and tests; it receives no mail.")
    return EmailResult(email, True, domain)
