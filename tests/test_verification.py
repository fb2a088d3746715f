"""verification.py parses a token's bytes strictly: one text for one token (RFC 7515, 8259).

Each forged variant below is signed with our own key (but for the signature variants, which
an attacker makes from a real token without any key), so it is refused for how it is written,
not for a bad signature: canonical base64url only, UTF-8 JSON without a byte order mark, and
no member named twice.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from django.test import Client as HttpClient

from oauth_cc.acceptance import verify_signature_and_claims
from oauth_cc.exceptions import InvalidToken
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client
from oauth_cc.testing import mint_token

pytestmark = pytest.mark.django_db

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# RFC 6750 §3: what an error_description may hold.
DESCRIPTION_TEXT = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
BOM = "\ufeff"
Members = list[tuple[str, Any]]


@pytest.fixture
def token(oauth_client: tuple[Client, str], frozen_clock: Any) -> str:
    client, _ = oauth_client
    return mint_token(client)


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def members(token: str, index: int) -> Members:
    """The header's (0) or payload's (1) members, in order, as a list that may repeat names."""
    return list(json.loads(decode(token.split(".")[index])).items())


def json_text(items: Members) -> str:
    """A JSON object with these members, a name as often as it is listed."""
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in items) + "}"


def signed(header: str | bytes, payload: str | bytes) -> str:
    """A token of exactly these segments (text as is, bytes base64url-encoded), signed by us."""
    head = header if isinstance(header, str) else segment(header)
    body = payload if isinstance(payload, str) else segment(payload)
    signing_input = f"{head}.{body}"
    rs256 = jwt.algorithms.get_default_algorithms()["RS256"]
    signature = rs256.sign(signing_input.encode(), key_ring.signing_key().private_key)
    return f"{signing_input}.{segment(signature)}"


def with_unused_bits(text: str) -> list[str]:
    """Every other spelling of ``text`` that differs only in its last character's unused bits.

    The last of 2 characters (mod 4) carries 2 data bits and 4 unused ones; the last of 3
    carries 4 and 2 (RFC 4648 §3.5). A base64url decoder that ignores them reads all of these
    as the same bytes.
    """
    unused = {2: 0b1111, 3: 0b11}[len(text) % 4]
    value = ALPHABET.index(text[-1])
    variants = [text[:-1] + ALPHABET[value | bits] for bits in range(1, unused + 1)]
    assert all(decode(variant) == decode(text) for variant in variants)
    return variants


def with_length_not_a_multiple_of_3(items: Members) -> bytes:
    """These members as JSON whose base64url text has a partial last group (unused bits)."""
    text = json_text(items)
    while len(text.encode()) % 3 != 1:  # 1 byte over: 2 characters, 4 unused bits
        text += " "  # JSON allows whitespace after the value (RFC 8259 §2)
    return text.encode()


def refused(token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verify_signature_and_claims(token)
    description = caught.value.description
    assert DESCRIPTION_TEXT.fullmatch(description), description
    return description


def test_the_forging_helpers_make_valid_tokens(token: str) -> None:
    """The refusals below are for how a token is written, not for what the helpers lose."""
    header, payload = members(token, 0), members(token, 1)
    assert verify_signature_and_claims(signed(json_text(header).encode(),
                                              json_text(payload).encode()))
    assert verify_signature_and_claims(signed(with_length_not_a_multiple_of_3(header),
                                              with_length_not_a_multiple_of_3(payload)))


# Canonical base64url (RFC 7515 §2: base64url without padding; RFC 4648 §3.5: unused bits zero)


def test_a_signature_differing_only_in_unused_bits_is_refused(token: str) -> None:
    """Without a key, an attacker can make 15 more tokens from each real one: not malleable."""
    head, body, signature = token.split(".")
    assert len(signature) % 4 == 2  # RS256: 256 bytes, 342 characters
    for variant in with_unused_bits(signature):
        assert "signature is not canonical base64url" in refused(f"{head}.{body}.{variant}")


@pytest.mark.parametrize("part", ["header", "payload"])
def test_a_header_or_payload_with_unused_bits_set_is_refused(token: str, part: str) -> None:
    header = with_length_not_a_multiple_of_3(members(token, 0))
    payload = with_length_not_a_multiple_of_3(members(token, 1))
    for variant in with_unused_bits(segment(header if part == "header" else payload)):
        forged = signed(variant, payload) if part == "header" else signed(header, variant)
        assert f"{part} is not canonical base64url" in refused(forged)


def test_a_cached_header_is_not_reached_by_another_spelling(token: str) -> None:
    """Parsed headers are cached by their text; another text of the same bytes is refused."""
    header = with_length_not_a_multiple_of_3(members(token, 0))
    payload = json_text(members(token, 1)).encode()
    verify_signature_and_claims(signed(header, payload))  # now cached
    for variant in with_unused_bits(segment(header)):
        assert "header is not canonical base64url" in refused(signed(variant, payload))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_segment_of_an_impossible_length_is_refused(token: str, index: int) -> None:
    """No base64 text is 1 character more than a multiple of 4 long."""
    parts = token.split(".")
    parts[index] += "A" * ((1 - len(parts[index])) % 4)
    description = refused(signed(parts[0], parts[1]) if index < 2 else ".".join(parts))
    assert "length" in description


# UTF-8 JSON (RFC 7515 §5.2 steps 3-4, RFC 8259 §8.1: UTF-8, and no byte order mark)


@pytest.mark.parametrize("part", ["header", "payload"])
def test_a_byte_order_mark_is_refused(token: str, part: str) -> None:
    header, payload = json_text(members(token, 0)), json_text(members(token, 1))
    if part == "header":
        forged = signed((BOM + header).encode(), payload.encode())
    else:
        forged = signed(header.encode(), (BOM + payload).encode())
    assert f"{part} starts with a byte order mark" in refused(forged)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                      "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("part", ["header", "payload"])
def test_json_in_utf_16_or_32_is_refused(token: str, part: str, encoding: str) -> None:
    """``json.loads`` on bytes detects UTF-16 and UTF-32, with a byte order mark or without."""
    header, payload = json_text(members(token, 0)), json_text(members(token, 1))
    if part == "header":
        forged = signed(header.encode(encoding), payload.encode())
    else:
        forged = signed(header.encode(), payload.encode(encoding))
    assert f"{part} is not UTF-8" in refused(forged)


# No duplicate member names (RFC 7515 §5.2: a parser may refuse them; we must not take either)


@pytest.mark.parametrize(("name", "first"), [
    ("kid", "attacker-key"), ("alg", "none"), ("typ", "JWT"), ("crit", ["x"]),
])
def test_a_header_member_named_twice_is_refused(token: str, name: str, first: Any) -> None:
    header = members(token, 0)
    real = dict(header).get(name, "RS256")
    forged = signed(json_text([(name, first), *header, (name, real)]).encode(),
                    json_text(members(token, 1)).encode())
    assert f"more than one '{name}' member" in refused(forged)


@pytest.mark.parametrize(("name", "first"), [
    ("scope", "address phone email introspection"), ("exp", 0), ("iss", "https://evil.test"),
    ("client_id", "another-client"),
])
def test_a_claim_named_twice_is_refused(token: str, name: str, first: Any) -> None:
    payload = members(token, 1)
    forged = signed(json_text(members(token, 0)).encode(),
                    json_text([(name, first), *payload]).encode())
    assert f"more than one '{name}' member" in refused(forged)


def test_members_named_twice_inside_a_claim_are_refused(token: str) -> None:
    text = json_text(members(token, 1))[:-1] + ', "cnf": {"jkt": "a", "jkt": "b"}}'
    forged = signed(json_text(members(token, 0)).encode(), text.encode())
    assert "more than one 'jkt' member" in refused(forged)


# From the attacker's side, over HTTP: each variant is a 401 in the RFC 6750 shape, never a 500.


def _variants() -> dict[str, Callable[[str], str]]:
    def head(token: str) -> str:
        return json_text(members(token, 0))

    def body(token: str) -> str:
        return json_text(members(token, 1))

    def flip_signature(token: str) -> str:
        signing_input, _, signature = token.rpartition(".")
        return f"{signing_input}.{with_unused_bits(signature)[0]}"

    def flip(index: int) -> Callable[[str], str]:
        def forge(token: str) -> str:
            parts = [segment(with_length_not_a_multiple_of_3(members(token, i))) for i in (0, 1)]
            parts[index] = with_unused_bits(parts[index])[-1]
            return signed(*parts)
        return forge

    def twice(index: int, name: str, first: Any) -> Callable[[str], str]:
        def forge(token: str) -> str:
            items = members(token, index)
            doubled = json_text([(name, first), *items]).encode()
            return signed(doubled, body(token).encode()) if index == 0 \
                else signed(head(token).encode(), doubled)
        return forge

    return {
        "signature with unused bits": flip_signature,
        "header with unused bits": flip(0),
        "payload with unused bits": flip(1),
        "header with a BOM": lambda t: signed((BOM + head(t)).encode(), body(t).encode()),
        "payload with a BOM": lambda t: signed(head(t).encode(), (BOM + body(t)).encode()),
        "header in UTF-16": lambda t: signed(head(t).encode("utf-16"), body(t).encode()),
        "payload in UTF-16-LE": lambda t: signed(head(t).encode(), body(t).encode("utf-16-le")),
        "payload in UTF-32": lambda t: signed(head(t).encode(), body(t).encode("utf-32")),
        "kid twice": twice(0, "kid", "attacker-key"),
        "alg twice": twice(0, "alg", "none"),
        "scope twice": twice(1, "scope", "address phone email"),
        "exp twice": twice(1, "exp", 0),
    }


VARIANTS = _variants()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_variant_is_a_401_over_http(http: HttpClient, token: str, variant: str) -> None:
    assert http.get("/api/address", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    response = http.get("/api/address", HTTP_AUTHORIZATION=f"Bearer {VARIANTS[variant](token)}")
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token", error_description="')
    description = re.search(r'error_description="([^"]*)"', challenge)
    assert description is not None and DESCRIPTION_TEXT.fullmatch(description.group(1))
    assert response.json()["error_code"] == "1024"
