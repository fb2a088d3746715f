"""Strict compact JWS reading (oauth_cc/jose.py): one token, one spelling."""

from __future__ import annotations

import base64
import json
import random

import pytest

from oauth_cc import jose
from oauth_cc.jose import MalformedJWS

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    """The canonical base64url text of ``data``, as RFC 7515 writes it (no padding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# split


def test_split_returns_the_three_segments():
    assert jose.split("aGVhZA.cGF5bG9hZA.c2ln", 100) == ("aGVhZA", "cGF5bG9hZA", "c2ln")


def test_split_accepts_a_token_of_exactly_the_maximum_length():
    token = "a" * 8 + ".b.c"
    assert jose.split(token, len(token)) == ("a" * 8, "b", "c")
    with pytest.raises(MalformedJWS, match="form is not that of a signed JWT"):
        jose.split(token, len(token) - 1)


@pytest.mark.parametrize("token", [
    "a.b", "a.b.c.d", "a.b.c.d.e", "abc", "",
    ".b.c", "a..c", "a.b.", "..", "a.b.c.",
])
def test_split_needs_three_non_empty_segments(token):
    with pytest.raises(MalformedJWS, match="form is not that of a signed JWT"):
        jose.split(token, 100)


@pytest.mark.parametrize("token", ["é.b.c", "a.b.\u00a0", "a.\u2024.c", "a.b.c\udcff"])
def test_split_refuses_non_ascii_text(token):
    # U+2024 ONE DOT LEADER looks like the separator; a lone surrogate cannot be encoded.
    with pytest.raises(MalformedJWS, match="form is not that of a signed JWT"):
        jose.split(token, 100)


@pytest.mark.parametrize("token", [b"a.b.c", None, 1, ["a", "b", "c"], ("a", "b", "c")])
def test_split_refuses_what_is_not_a_str(token):
    with pytest.raises(MalformedJWS, match="form is not that of a signed JWT"):
        jose.split(token, 100)


def test_malformed_jws_is_a_value_error():
    # Callers that translate ValueError (and tests of them) rely on it.
    assert issubclass(MalformedJWS, ValueError)


# b64decode


def test_b64decode_reads_what_base64_writes():
    rng = random.Random(70)
    for length in range(1, 71):  # every remainder, many times over
        data = rng.randbytes(length)
        assert jose.b64decode(b64(data), "payload") == data, length


def test_b64decode_reads_every_byte_value():
    data = bytes(range(256))
    assert jose.b64decode(b64(data), "payload") == data
    assert "-" in b64(data) and "_" in b64(data)  # base64url's own two characters were read


def test_an_empty_segment_is_refused():
    # split() never hands one over; decoding one on its own is refused as well.
    with pytest.raises(MalformedJWS, match="payload is not base64url"):
        jose.b64decode("", "payload")


@pytest.mark.parametrize(("stem", "canonical"), [("Q", "AQgw"), ("QU", "AEIMQUYcgkosw048")])
def test_b64decode_accepts_only_the_canonical_last_character(stem, canonical):
    """Of the 64 characters that can end a text 2 or 3 (mod 4) long, exactly those whose
    unused bits are zero decode, and each to the bytes that encode back to that text."""
    for prefix in ("", "AAAA", "QUJD"):
        for last in ALPHABET:
            segment = prefix + stem + last
            if last in canonical:
                assert b64(jose.b64decode(segment, "signature")) == segment
            else:
                with pytest.raises(MalformedJWS, match="signature is not canonical base64url"):
                    jose.b64decode(segment, "signature")


def test_non_canonical_spellings_of_one_signature_are_refused():
    signature = b64(b"\x00" * 31 + b"\x01")  # 43 characters: 2 unused bits at the end
    assert signature.endswith("E")
    for twin in ("F", "G", "H"):  # what a lax decoder reads as the same bytes
        assert base64.urlsafe_b64decode(signature[:-1] + twin + "=") == b"\x00" * 31 + b"\x01"
        with pytest.raises(MalformedJWS, match="not canonical"):
            jose.b64decode(signature[:-1] + twin, "signature")


@pytest.mark.parametrize("segment", ["A", "AAAAA", "QUJDREVGR", "QUJDREVGRUFBQ"])
def test_a_length_1_mod_4_is_refused(segment):
    assert len(segment) % 4 == 1
    with pytest.raises(MalformedJWS, match="header has a length no base64url text can have"):
        jose.b64decode(segment, "header")


@pytest.mark.parametrize("bad", ["+", "/", "=", ".", " ", "\n", "\t", "é", "\x00", "*", "\\"])
def test_characters_outside_base64url_are_refused(bad):
    for text in ("QUJDREVG", "QUJDRA", "QUJDREA"):  # canonical, of each length mod 4 there is
        jose.b64decode(text, "signature")
        for position in range(len(text)):
            segment = text[:position] + bad + text[position + 1:]
            with pytest.raises(MalformedJWS, match="signature is not base64url"):
                jose.b64decode(segment, "signature")


@pytest.mark.parametrize("segment", ["QQ==", "QUI=", "QUJD====", "QQ=", "QUI==", "QQ%3D%3D"])
def test_padding_is_refused(segment):
    with pytest.raises(MalformedJWS):
        jose.b64decode(segment, "payload")


def test_plain_base64_is_refused_even_where_it_would_decode():
    data = b"\xfb\xff\xbf"  # "+/+/" in plain base64, "-_-_" in base64url
    assert base64.b64encode(data) == b"+/+/"
    assert jose.b64decode("-_-_", "signature") == data
    for plain in ("+/+/", "-/-_", "-_+_"):
        with pytest.raises(MalformedJWS, match="signature is not base64url"):
            jose.b64decode(plain, "signature")


# json_object


def segment(text: str | bytes) -> str:
    return b64(text.encode("utf-8") if isinstance(text, str) else text)


def test_json_object_reads_a_utf8_object():
    value = {"iss": "https://issuer.test", "name": "Zoë 😀", "n": [1, 2.5, None, True]}
    assert jose.json_object(segment(json.dumps(value, ensure_ascii=False)), "payload") == value
    assert jose.json_object(segment(json.dumps(value)), "payload") == value


@pytest.mark.parametrize("text", [' {"a":1}', '{"a":1} ', '\n{"a":1}\r\n', '\t {"a": 1}\t',
                                  '{ "a" : 1 }'])
def test_whitespace_around_the_object_is_accepted(text):
    assert jose.json_object(segment(text), "payload") == {"a": 1}


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(MalformedJWS, match="payload is not UTF-8"):
        jose.json_object(segment('{"a":"é"}'.encode("latin-1")), "payload")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_refused(encoding):
    with pytest.raises(MalformedJWS, match="header is not UTF-8"):
        jose.json_object(segment('{"a":1}'.encode(encoding)), "header")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_explained(encoding):
    # ASCII text in these is valid UTF-8, with NULs: json.loads(bytes) would read it.
    data = '{"a":1}'.encode(encoding)
    assert json.loads(data) == {"a": 1}
    with pytest.raises(MalformedJWS, match="header is not UTF-8 JSON: it holds NUL bytes"):
        jose.json_object(segment(data), "header")


def test_a_nul_byte_is_refused():
    with pytest.raises(MalformedJWS, match="NUL bytes"):
        jose.json_object(segment(b'{"a":1}\x00'), "payload")


def test_a_byte_order_mark_is_refused():
    data = '\ufeff{"a":1}'.encode()
    assert json.loads(data) == {"a": 1}  # what json.loads(bytes) would let through
    with pytest.raises(MalformedJWS, match="payload starts with a byte order mark"):
        jose.json_object(segment(data), "payload")


@pytest.mark.parametrize("text", [
    '{"alg":"RS256","alg":"none"}',
    ' {"alg":"RS256","alg":"none"} ',  # the general path, after whitespace
    '{"x":{"alg":"a","alg":"b"}}',  # in a nested object too
    '{"alg":"RS256","a\\u006cg":"none"}',  # one name, spelled two ways
])
def test_a_member_named_twice_is_refused_naming_it(text):
    with pytest.raises(MalformedJWS, match="header has more than one 'alg' member"):
        jose.json_object(segment(text), "header")


def test_the_name_of_a_duplicate_member_is_cut_short():
    name = "n" * 200
    with pytest.raises(MalformedJWS) as raised:
        jose.json_object(segment(json.dumps({name: 1})[:-1] + f', "{name}": 2}}'), "payload")
    assert repr("n" * 32) in str(raised.value)
    assert "n" * 33 not in str(raised.value)


def test_members_that_differ_are_kept():
    assert jose.json_object(segment('{"a":1,"A":2,"a ":3}'), "payload") == {"a": 1, "A": 2,
                                                                           "a ": 3}


@pytest.mark.parametrize("text", ["[]", '[{"a":1}]', "1", '"{}"', "null", "true", " [] "])
def test_a_value_that_is_not_an_object_is_refused(text):
    with pytest.raises(MalformedJWS, match="payload is malformed: it is not a JSON object"):
        jose.json_object(segment(text), "payload")


@pytest.mark.parametrize("text", ["{", '{"a":1}x', '{"a":1}{}', "{'a':1}", '{"a":01}', " ",
                                  '{"a":1,}', '{"a":NaN'])
def test_text_that_is_not_json_is_refused(text):
    with pytest.raises(MalformedJWS, match="payload is malformed: it is not JSON"):
        jose.json_object(segment(text), "payload")


# RFC 8259 §8.2: JSON escapes can spell a lone UTF-16 surrogate, which is no character. Python
# reads it into a str that cannot be encoded as UTF-8, so it would fail wherever a claim is
# hashed or stored (a 500); RFC 7493 §2.1 (I-JSON) rules such strings out.
@pytest.mark.parametrize("text", [
    '{"iss":"\\ud800"}',  # high, alone
    '{"iss":"a\\udfff"}',  # low, alone
    '{"jti":"\\ude00\\ud83d"}',  # a pair in the wrong order
    '{"x":["\\uD800"]}',  # in a list, upper case
    '{"\\ud800":1}',  # in a member name
    '{"x":{"y":"\\udbff"}} ',  # nested, on the general path (trailing space)
])
def test_a_lone_surrogate_is_refused(text):
    assert "\\u" in text
    with pytest.raises(MalformedJWS, match="payload holds text that is not Unicode"):
        jose.json_object(segment(text), "payload")
    with pytest.raises(ValueError, match="not Unicode"):
        jose.loads(text)


@pytest.mark.parametrize("text", ['{"a":"\\ud83d\\ude00"}', '{"a":"\\u00e9\\\\ud800"}'])
def test_escapes_that_spell_characters_are_read(text):
    # A surrogate pair is one character; an escaped backslash before "ud800" is text.
    value = json.loads(text)
    assert jose.json_object(segment(text), "payload") == value
    assert jose.loads(text) == value


def test_a_lone_surrogate_in_a_str_given_to_loads_is_refused():
    with pytest.raises(ValueError, match="not Unicode"):
        jose.loads('{"kid":"\ud800"}')


@pytest.mark.parametrize("depth", [10_000, 200_000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_deep_nesting_is_malformed_not_a_recursion_error(depth, kind):
    inner = "[" * depth + "]" * depth if kind == "array" else \
        '{"a":' * depth + "1" + "}" * depth
    with pytest.raises(MalformedJWS, match="payload is malformed"):
        jose.json_object(segment('{"x":' + inner + "}"), "payload")


def test_nesting_that_json_can_read_is_read():
    value: dict[str, object] = {"a": 1}
    for _ in range(50):
        value = {"a": value}
    assert jose.json_object(segment(json.dumps(value)), "payload") == value


def test_a_segment_that_is_not_base64url_is_refused_first():
    with pytest.raises(MalformedJWS, match="header has a length no base64url text can have"):
        jose.json_object(segment("{}") + "AA", "header")
    with pytest.raises(MalformedJWS, match="header is not base64url"):
        jose.json_object(segment('{"a":1}') + "==", "header")
