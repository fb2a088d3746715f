"""Client ids and secrets (oauth_cc/credentials.py): generation, keyed hashing, checking."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from django.test import override_settings
from django.views.debug import ExceptionReporter

from oauth_cc import credentials
from oauth_cc.credentials import HASH_PREFIX, MAX_SECRET_LENGTH, check_secret, hash_secret

ISSUER = "https://issuer.test"
pytestmark = pytest.mark.usefixtures("oauth_cc_defaults")
UNRESERVED = re.compile(r"[A-Za-z0-9_-]+")  # RFC 3986 §2.3 without "." and "~"
STORED = re.compile(r"hmac-sha256\$[0-9a-f]{64}")
OLD_KEY = "an-older-secret-key-" + "o" * 40


def expected_hash(key_material: str, secret: str) -> str:
    """The stored form, computed independently: a change here strands every stored secret."""
    key = hmac.new(key_material.encode(), b"oauth_cc.credentials.client-secret-hash.v1",
                   hashlib.sha256).digest()
    return "hmac-sha256$" + hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def test_client_ids_are_24_unreserved_random_characters():
    ids = {credentials.generate_client_id() for _ in range(200)}
    assert len(ids) == 200
    for client_id in ids:
        assert len(client_id) == 24
        assert UNRESERVED.fullmatch(client_id)


def test_secrets_are_256_random_bits_of_unreserved_characters():
    secrets = {credentials.generate_client_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert len(secret) == 43  # 32 bytes in base64url
        assert UNRESERVED.fullmatch(secret)
    # Every character of the alphabet turns up: not, say, hex (16) or one repeated byte.
    assert len(set("".join(secrets))) == 64


def test_the_stored_form_is_hmac_sha256_under_a_key_derived_from_secret_key(settings):
    stored = hash_secret("s3cr3t")
    assert STORED.fullmatch(stored)
    assert stored == expected_hash(settings.SECRET_KEY, "s3cr3t")
    assert stored.startswith(HASH_PREFIX)
    assert "s3cr3t" not in stored


def test_hashing_is_deterministic_and_tells_secrets_apart():
    assert hash_secret("a") == hash_secret("a")
    assert hash_secret("a") != hash_secret("b")
    assert hash_secret("a") != hash_secret("a ")
    assert hash_secret("é") == expected_hash(credentials.settings.SECRET_KEY, "é")


def test_a_new_secret_key_changes_the_hash(settings):
    before = hash_secret("s")
    settings.SECRET_KEY = "another-secret-key-" + "n" * 40
    assert hash_secret("s") != before
    assert hash_secret("s") == expected_hash(settings.SECRET_KEY, "s")
    assert check_secret("s", before) == (False, False)  # no fallback configured


def test_a_hash_under_a_fallback_key_matches_and_asks_for_a_rehash(settings):
    old = expected_hash(OLD_KEY, "s")
    assert check_secret("s", old) == (False, False)
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY]
    assert check_secret("s", old) == (True, True)
    assert check_secret("s", hash_secret("s")) == (True, False)
    assert check_secret("t", old) == (False, False)


def test_dedicated_hash_keys_replace_secret_key(settings):
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "SECRET_HASH_KEYS": ["new-k", "old-k"]}):
        assert hash_secret("s") == expected_hash("new-k", "s")
        assert check_secret("s", expected_hash("new-k", "s")) == (True, False)
        assert check_secret("s", expected_hash("old-k", "s")) == (True, True)
        # SECRET_KEY no longer takes part, as the first key or a fallback.
        assert check_secret("s", expected_hash(settings.SECRET_KEY, "s")) == (False, False)


def test_a_single_hash_key_may_be_a_string():
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "SECRET_HASH_KEYS": "only-k"}):
        assert hash_secret("s") == expected_hash("only-k", "s")  # not "o", "n", "l", ...
        assert check_secret("s", expected_hash("o", "s")) == (False, False)


def test_an_empty_list_of_hash_keys_means_secret_key(settings):
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "SECRET_HASH_KEYS": []}):
        assert hash_secret("s") == expected_hash(settings.SECRET_KEY, "s")


def test_secrets_up_to_the_maximum_length_are_checked():
    longest = "x" * MAX_SECRET_LENGTH
    assert check_secret(longest, hash_secret(longest)) == (True, False)
    too_long = longest + "x"
    assert check_secret(too_long, hash_secret(too_long)) == (False, False)


@pytest.mark.parametrize("stored", ["", "hmac-sha256$", "pbkdf2_sha256$1$salt$hash",
                                    "hmac-sha256$" + "0" * 64])
def test_stored_values_that_match_nothing(stored):
    assert check_secret("s", stored) == (False, False)


def test_a_stored_hash_is_compared_in_full():
    stored = hash_secret("s")
    assert check_secret("s", stored[:-1]) == (False, False)
    assert check_secret("s", stored.upper()) == (False, False)
    assert check_secret("s", stored + "0") == (False, False)


def test_burning_hash_time_compares_as_a_real_check_does(monkeypatch, settings):
    """An unknown client id costs one comparison per key, as a wrong secret does."""
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY]
    compared = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(credentials.hmac, "compare_digest", spy)
    check_secret("wrong", hash_secret("right"))
    per_check = len(compared)
    compared.clear()
    credentials.burn_hash_time("wrong")
    assert len(compared) == per_check == 2
    compared.clear()
    credentials.burn_hash_time("x" * 100_000)  # cut to the longest secret that is checked
    assert len(compared) == 2


@pytest.mark.parametrize("function", ["hash_secret", "check_secret"])
def test_error_reports_hide_the_secret(monkeypatch, settings, function):
    """Django's report of an error raised inside shows every frame's variables but the
    secret (``sensitive_variables``)."""
    settings.DEBUG = False
    plain = "plain-text-secret-" + "p" * 25

    def broken() -> tuple[bytes, ...]:
        raise RuntimeError("the key store went away")

    monkeypatch.setattr(credentials, "_hash_keys", broken)
    calls = {"hash_secret": lambda: hash_secret(plain),
             "check_secret": lambda: check_secret(plain, "hmac-sha256$" + "0" * 64)}
    with pytest.raises(RuntimeError) as raised:
        calls[function]()
    frames = ExceptionReporter(None, raised.type, raised.value,
                               raised.tb).get_traceback_data()["frames"]
    # This test's own frame holds the secret too: only the frames it called are looked at.
    called = [frame for frame in frames if frame["filename"] != __file__]
    shown = {name: value for frame in called for name, value in frame["vars"]}
    inner = next(frame for frame in called if frame["function"] == function)
    assert dict(inner["vars"])["secret"] == "'********************'"
    assert plain not in repr(shown)
