"""Does an API's answer say that the access token was rejected? (Shared by the adapters.)"""

from __future__ import annotations

import json
import re

INVALID_TOKEN_CODE = "1024"  # noqa: S105 - the API error code, not a password
# RFC 6750 §3: error="invalid_token" as an auth-param of the challenge (quoted or not), in a
# Bearer challenge or a DPoP one (RFC 9449 §7.1); not use_dpop_nonce (§9), which a new token
# would not answer.
_INVALID_TOKEN = re.compile(r'(?:^|[\s,])error\s*=\s*"?invalid_token"?(?:$|[\s,])',
                            re.IGNORECASE)


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` names JSON (``application/json`` or a ``+json`` type)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def token_rejected(status: int, www_authenticate: str | None, body: bytes | None) -> bool:
    """True for a 401 whose challenge (``Bearer`` or ``DPoP``) says ``error="invalid_token"``
    (RFC 6750 §3.1, RFC 9449 §7.1), or any
    answer whose JSON body has ``"error_code": "1024"`` (invalid or expired bearer token, which
    the seed's APIs send with status 400). Then a new token may help; for anything else it
    would not.
    """
    if status == 401 and www_authenticate and _INVALID_TOKEN.search(www_authenticate):
        return True
    if not body or INVALID_TOKEN_CODE.encode() not in body:
        return False  # the cheap test first: most answers are never parsed here
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and str(document.get("error_code")) == INVALID_TOKEN_CODE
