"""Reading compact JWS text strictly (RFC 7515): one token, one spelling.

base64url must be canonical (no padding, unused bits zero) and JSON must be UTF-8 without a
byte order mark, name no member twice, and escape no lone surrogate. Then no token can be
rewritten into another that still verifies, no member is read one way here and another way
elsewhere, and every string read can be encoded again. Access tokens use it now; client
assertions and DPoP proofs are JWS too.

Failures are ``MalformedJWS`` whose message completes "The token's ..." for the caller to
translate into its own error (``raise ... from``).

``json`` raises ``RecursionError``, not ``ValueError``, for JSON nested deeper than the
interpreter's recursion limit, so both are caught.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from typing import Any

# The characters a canonical segment may end with, by its length mod 4 (RFC 4648 §3.5): the
# last of 2 carries 2 data bits and 4 unused ones, the last of 3 carries 4 and 2, and unused
# bits must be zero; no base64 text is 1 more than a multiple of 4 long. This test of the last
# character costs ~0.05 µs; decoding and re-encoding to compare costs ~1 µs per segment.
_CANONICAL_LAST = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    "",
    "AQgw",
    "AEIMQUYcgkosw048",
)
_PADDING = ("", "", "==", "=")


# The latest NumericDate (RFC 7519 §2) read as a time, 9999-12-31T23:59:59Z: a later one is
# no datetime, and a much larger int is no float either.
MAX_TIMESTAMP = 253_402_300_799


class MalformedJWS(ValueError):
    """What is wrong, as the end of a sentence that starts "The token's "."""


def split(token: object, max_length: int) -> tuple[str, str, str]:
    """The header, payload and signature segments of a compact JWS. Raises ``MalformedJWS``.

    Only their shape is checked here (ASCII, three non-empty segments): each segment's
    alphabet is checked where it is decoded (``b64decode``, ``json_object``), so a caller must
    decode a segment before trusting its text. The ASCII check makes
    ``f"{header}.{payload}".encode("ascii")``, the signing input, safe.
    """
    if not isinstance(token, str) or len(token) > max_length or not token.isascii():
        raise MalformedJWS("form is not that of a signed JWT.")
    segments = token.split(".")
    if len(segments) != 3 or not all(segments):
        raise MalformedJWS("form is not that of a signed JWT.")
    header, payload, signature = segments
    return header, payload, signature


def b64decode(segment: str, part: str) -> bytes:
    """Decode a base64url segment, strictly. Raises ``MalformedJWS``.

    It must be canonical (RFC 7515 §2: base64url without padding; RFC 4648 §3.5: unused bits
    zero): a decoder that ignores those bits reads several texts as one, and a signature would
    then have up to 16 spellings that all verify. Any other character is refused too.
    """
    remainder = len(segment) % 4
    if not segment or segment[-1] not in _CANONICAL_LAST[remainder]:
        if remainder == 1:
            raise MalformedJWS(f"{part} has a length no base64url text can have.")
        if segment and segment[-1] in _CANONICAL_LAST[0]:
            raise MalformedJWS(f"{part} is not canonical base64url: its last character sets "
                               "bits that encode nothing.")
        raise MalformedJWS(f"{part} is not base64url.")
    # binascii's strict decoder refuses every character outside plain base64's alphabet (and
    # non-ASCII text): once the two of plain base64 that base64url lacks are refused, mapping
    # base64url's two onto them makes it refuse every character outside base64url's.
    if "+" in segment or "/" in segment:
        raise MalformedJWS(f"{part} is not base64url.")
    try:
        return binascii.a2b_base64(
            segment.replace("-", "+").replace("_", "/") + _PADDING[remainder],
            strict_mode=True)
    except ValueError as e:  # binascii.Error, or non-ASCII text
        raise MalformedJWS(f"{part} is not base64url.") from e


def b64encode(data: bytes) -> str:
    """``data`` as base64url without padding (RFC 7515 §2), the only spelling ``b64decode``
    reads."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DuplicateMember(ValueError):
    """A JSON object names a member twice; the message completes "The token's ... " after
    the part's name: "has more than one 'alg' member."."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2 and RFC 7519 §4: a JWS or JWT with a member named twice may be refused;
    # taking the last (as json does) would let us read a token another parser reads otherwise.
    members = dict(pairs)
    if len(members) != len(pairs):  # the rare case: find which name, for the description
        name = next(name for name, count in Counter(name for name, _ in pairs).items()
                    if count > 1)
        raise DuplicateMember(f"has more than one {name[:32]!r} member.")
    return members


class LoneSurrogate(ValueError):
    """A JSON string escapes half of a UTF-16 surrogate pair alone (``"\\ud800"``): no
    character, so Python's ``str`` of it cannot be encoded as UTF-8, and would fail wherever a
    claim is hashed or stored. RFC 8259 §8.2 leaves such text to the reader; RFC 7493 §2.1
    (I-JSON) rules it out, and so do we."""

    def __init__(self) -> None:
        super().__init__("holds text that is not Unicode: a lone UTF-16 surrogate "
                         "(\\uD800 to \\uDFFF).")


def _refuse_lone_surrogates(value: Any, text: str) -> None:
    """``refuse_lone_surrogates`` for ``value`` decoded from ``text``: only an escape (or a
    ``str`` that already held one) can spell a lone surrogate, so text without either costs
    two scans, and is the text of every token we issue."""
    if "\\u" in text or not text.isascii():
        refuse_lone_surrogates(value)


def refuse_lone_surrogates(value: Any) -> None:
    """Raise ``LoneSurrogate`` if a string in ``value`` (decoded JSON) holds one."""
    pending = [value]
    while pending:  # no recursion: the value may be nested as deep as json could read
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise LoneSurrogate() from None
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


# NaN and Infinity, not JSON (RFC 8259 §6) but read by Python's json, are left to the claim
# checks: where a number is read, it is refused there, naming the claim.
_JSON = json.JSONDecoder(object_pairs_hook=_unique_members)


def loads(text: str) -> Any:
    """``text`` as JSON, refusing an object that names a member twice (``DuplicateMember``)
    and a lone surrogate (``LoneSurrogate``), both ``ValueError``, as ``json`` raises
    ``ValueError`` or ``RecursionError`` otherwise. For JSON documents that are no JWS
    segment (a JWK Set), read by the same rules."""
    value = _JSON.decode(text)
    _refuse_lone_surrogates(value, text)
    return value


def json_object(segment: str, part: str) -> dict[str, Any]:
    """The JSON object a header or payload segment holds. Raises ``MalformedJWS``.

    Decoded as UTF-8 here: ``json.loads`` given bytes would also read UTF-16, UTF-32 and a
    leading byte order mark, which RFC 7515 §5.2 and RFC 8259 §8.1 rule out.
    """
    try:
        text = b64decode(segment, part).decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedJWS(f"{part} is not UTF-8.") from e
    if text.startswith("\ufeff"):
        raise MalformedJWS(f"{part} starts with a byte order mark.")
    try:
        # raw_decode skips decode()'s two whitespace scans; text with whitespace around the
        # value (which JSON allows and no JWS library writes), and every error, take the
        # general path, which says what is wrong.
        value, end = _JSON.raw_decode(text)
    except DuplicateMember as e:
        raise MalformedJWS(f"{part} {e}") from e
    except (ValueError, RecursionError):
        end = -1
    if end != len(text):
        value = _decode_general(text, part)
    try:
        _refuse_lone_surrogates(value, text)
    except LoneSurrogate as e:
        raise MalformedJWS(f"{part} {e}") from e
    if not isinstance(value, dict):
        raise MalformedJWS(f"{part} is malformed: it is not a JSON object.")
    return value


def _decode_general(text: str, part: str) -> Any:
    """``text`` as JSON, by ``json``'s own rules, or ``MalformedJWS`` saying why not."""
    try:
        return _JSON.decode(text)
    except DuplicateMember as e:
        raise MalformedJWS(f"{part} {e}") from e
    except (ValueError, RecursionError) as e:
        if "\x00" in text:  # UTF-16 or UTF-32 of ASCII text is also UTF-8, with NULs
            raise MalformedJWS(f"{part} is not UTF-8 JSON: it holds NUL bytes, as UTF-16 or "
                               "UTF-32 text does.") from e
        raise MalformedJWS(f"{part} is malformed: it is not JSON.") from e
