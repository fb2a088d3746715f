"""Verifying a client assertion: the JWT a ``private_key_jwt`` client authenticates with
(RFC 7523 §2.2 and §3, RFC 7521 §4.2).

- The compact form is read strictly (``jose``), at most ``MAX_ASSERTION_LENGTH`` characters.
- The key decides: the header's ``alg`` must be one the chosen key verifies (RS256 or PS256
  for RSA, ES256 for P-256, EdDSA or Ed25519 for Ed25519), so ``none``, HMAC keyed with a
  public key, and an algorithm of another key type all fail. A ``kid`` picks the key; without
  one, each of the client's keys (at most ten) that fits the ``alg`` is tried.
- ``iss`` = ``sub`` = the client id; ``aud`` = the ``ISSUER`` or the token endpoint URL (a
  string, or a list holding one of them); ``exp`` required, not past, and at most
  ``ASSERTION_MAX_AGE_SECONDS`` ahead; ``nbf`` and ``iat``, if present, not in the future;
  ``LEEWAY_SECONDS`` for clock skew throughout.
- ``jti`` required, and accepted once until ``exp``: ``use_once`` records it in Django's
  default cache (shared by the workers, as the brute-force counts are) with an atomic ``add``.

Every failure is ``AssertionRejected``: ``reason`` for the audit trail, ``description`` for
the client. Neither ever holds the assertion, or anything of it longer than a claim name.
Library errors stop here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from django.views.decorators.debug import sensitive_variables

from oauth_cc import client_jwks, client_keys, jose, published_urls, replay
from oauth_cc.keys import signature_verifier
from oauth_cc.settings import oauth_cc_settings

if TYPE_CHECKING:
    from oauth_cc.client_jwks import ClientKey
    from oauth_cc.client_keys import ClientKeySet
    from oauth_cc.models import ClientRecord

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LENGTH = 8192
MAX_JTI_LENGTH = 256
REPLAY_PREFIX = "oauth_cc:assertion-jti:"
# A typ is optional (RFC 7523 says nothing of it). One that names another kind of JWT (an
# access token, a DPoP proof) is refused, so that no such JWT a client signed is ever taken
# for its authentication. "client-authentication+jwt" is what draft-ietf-oauth-rfc7523bis
# proposes.
ACCEPTED_TYPES = frozenset({"jwt", "application/jwt", "client-authentication+jwt",
                            "application/client-authentication+jwt"})


class AssertionRejected(Exception):
    """The assertion does not authenticate its client. ``reason`` is for the audit trail,
    ``description`` for the ``error_description``."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


@dataclass(frozen=True)
class ParsedAssertion:
    """An assertion read but not verified: its header, claims and signed parts."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def client_id(self) -> str:
        """The client it claims to authenticate: its ``sub`` (RFC 7523 §3), else its
        ``iss``, else ""."""
        for name in ("sub", "iss"):
            value = self.claims.get(name)
            if isinstance(value, str) and value:
                return value
        return ""

    def __repr__(self) -> str:
        return "<ParsedAssertion>"


@sensitive_variables()
def parse(assertion: str) -> ParsedAssertion:
    """Read ``assertion`` (compact JWS, JSON objects). Raises ``AssertionRejected``."""
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise AssertionRejected("malformed_assertion", f"The client_assertion is longer than "
                                                       f"{MAX_ASSERTION_LENGTH} characters.")
    try:
        header_segment, payload_segment, signature_segment = jose.split(
            assertion, MAX_ASSERTION_LENGTH)
        signature = jose.b64decode(signature_segment, "signature")
        header = jose.json_object(header_segment, "header")
        claims = jose.json_object(payload_segment, "payload")
    except jose.MalformedJWS as e:
        raise AssertionRejected("malformed_assertion", f"The client_assertion's {e}") from e
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    return ParsedAssertion(header, claims, signing_input, signature)


def audiences() -> tuple[str, str]:
    """What an assertion's ``aud`` may name: the issuer, and the token endpoint's URL (as the
    metadata gives it)."""
    return oauth_cc_settings.ISSUER, published_urls.token_endpoint_url()


def _rejected(reason: str, description: str) -> AssertionRejected:
    return AssertionRejected(reason, "The client_assertion" + description)


def check_claims(parsed: ParsedAssertion, client_id: str, *, now: float,
                 client_id_sent: bool = False) -> None:
    """RFC 7523 §3 for an assertion of ``client_id`` at ``now``, ``jti`` reuse aside.
    ``client_id_sent``: the request named the client in a ``client_id`` parameter.
    Raises ``AssertionRejected``."""
    claims = parsed.claims
    named = " (the client_id parameter)" if client_id_sent else ""
    for name in ("iss", "sub"):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise _rejected(f"missing_{name}", f" has no {name} claim.")
        if value != client_id:
            raise _rejected(f"wrong_{name}",
                            f"'s {name} claim is not the client's id{named}: a client "
                            "authenticates with an assertion whose iss and sub are its id.")
    check_audience(claims.get("aud"))
    leeway = oauth_cc_settings.LEEWAY_SECONDS
    expires = _time(claims, "exp", required=True)
    assert expires is not None
    if now >= expires + leeway:
        raise _rejected("assertion_expired", " has expired.")
    max_age = oauth_cc_settings.ASSERTION_MAX_AGE_SECONDS
    if expires > now + max_age + leeway:
        # jti must be remembered until exp: the bound keeps that memory bounded too.
        raise _rejected("assertion_exp_too_far",
                        f"'s exp is more than {max_age} seconds ahead: sign short-lived "
                        "assertions.")
    not_before = _time(claims, "nbf", required=False)
    if not_before is not None and not_before > now + leeway:
        raise _rejected("assertion_not_yet_valid", " is not valid yet (nbf).")
    issued = _time(claims, "iat", required=False)
    if issued is not None and issued > now + leeway:
        raise _rejected("assertion_issued_in_future", " was issued in the future (iat).")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _rejected("missing_jti", " has no jti claim: each assertion needs a unique one.")
    if len(jti) > MAX_JTI_LENGTH:
        raise _rejected("malformed_assertion",
                        f"'s jti is longer than {MAX_JTI_LENGTH} characters.")


def check_audience(audience: object) -> None:
    """Raise ``AssertionRejected`` unless ``audience`` (a string, or a list holding at least
    one) names this server."""
    accepted = audiences()
    named = [audience] if isinstance(audience, str) else audience
    if not isinstance(named, list) or not any(
            isinstance(value, str) and value in accepted for value in named):
        raise _rejected("wrong_audience",
                        f"'s aud claim does not name this server: use its issuer "
                        f"{accepted[0]} or its token endpoint {accepted[1]}.")


def _time(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise _rejected(f"missing_{name}", f" has no {name} claim.")
        return None
    # A number, not a numeric string (RFC 7519 §2 NumericDate), nor true/false, NaN or ∞.
    if not isinstance(value, int | float) or isinstance(value, bool) \
            or not 0 <= value <= jose.MAX_TIMESTAMP:
        raise _rejected("malformed_assertion",
                        f"'s {name} claim is not a NumericDate (seconds since the epoch).")
    return float(value)


def check_header(parsed: ParsedAssertion) -> tuple[str, str | None]:
    """The header's ``alg`` (one we accept) and ``kid`` (or None). Raises
    ``AssertionRejected``."""
    header = parsed.header
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if not isinstance(alg, str) or alg not in client_jwks.SIGNING_ALGORITHMS:
        raise _rejected("unsupported_algorithm",
                        f"'s alg must be one of {', '.join(client_jwks.SIGNING_ALGORITHMS)}: "
                        "the key decides, and none or HMAC never authenticate a client.")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise _rejected("malformed_assertion", "'s kid header is not a non-empty string.")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES):
        raise _rejected("wrong_type", "'s typ says it is another kind of JWT, not a client "
                                      "assertion.")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so must refuse
        raise _rejected("malformed_assertion",
                        " requires header extensions (crit) this server does not support.")
    return alg, kid


def _candidates(keys: tuple[ClientKey, ...], alg: str, kid: str | None
                ) -> list[ClientKey] | None:
    """The keys to try: those that fit ``alg`` (and have ``kid`` if it is given); None when
    ``kid`` names no key at all."""
    if kid is not None:
        named = [key for key in keys if key.kid == kid]
        if not named:
            return None
        return [key for key in named if alg in key.algorithms]
    return [key for key in keys if alg in key.algorithms]


def _verifies(parsed: ParsedAssertion, alg: str, keys: list[ClientKey]) -> bool:
    for key in keys:
        try:
            signature_verifier(alg, key.key)(parsed.signature, parsed.signing_input)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def verify_signature(parsed: ParsedAssertion, record: ClientRecord) -> None:
    """Check the signature with ``record``'s keys, as the module docstring says. A
    ``jwks_uri`` is fetched again (within its limits) when the ``kid`` names none of its keys,
    or when none of them verifies an assertion without a ``kid``: the client may have rotated
    its keys since they were fetched. Raises ``AssertionRejected``."""
    alg, kid = check_header(parsed)
    failure = _check_signature(parsed, alg, kid, client_keys.client_keys(record), record)
    if failure is not None and (failure.reason in _REFETCH_AFTER or kid is None) \
            and (refetched := client_keys.refetched_keys(record)) is not None:
        failure = _check_signature(parsed, alg, kid, refetched, record)
    if failure is not None:
        raise failure


_REFETCH_AFTER = frozenset({"unknown_kid", "keys_unavailable"})


def _check_signature(parsed: ParsedAssertion, alg: str, kid: str | None,
                     key_set: ClientKeySet, record: ClientRecord) -> AssertionRejected | None:
    """Why the signature does not verify with ``key_set``, or None if it does."""
    if not key_set.available:
        return AssertionRejected("keys_unavailable",
                                 "The client's keys could not be fetched from its jwks_uri.")
    candidates = _candidates(key_set.keys, alg, kid)
    if candidates is None:
        where = "at its jwks_uri" if record.jwks_uri else "registered"
        return _rejected("unknown_kid", f"'s kid names no key the client has {where}.")
    if not candidates:
        return _rejected("algorithm_mismatch",
                         f"'s alg {alg} does not fit the client's key"
                         + (" its kid names." if kid is not None else "s."))
    if not _verifies(parsed, alg, candidates):
        return _rejected("bad_signature",
                         "'s signature does not verify with the client's keys.")
    return None


def verify(parsed: ParsedAssertion, record: ClientRecord, *, now: float,
           client_id_sent: bool = False) -> None:
    """Everything but ``jti`` reuse (``use_once``): the claims for ``record``'s client, then
    the signature. Raises ``AssertionRejected``."""
    check_claims(parsed, record.client_id, now=now, client_id_sent=client_id_sent)
    verify_signature(parsed, record)


def use_once(client_id: str, parsed: ParsedAssertion, *, now: float) -> None:
    """Record the assertion's ``jti`` for ``client_id`` until its ``exp`` (plus leeway), in
    the shared cache; raise ``AssertionRejected`` if it was recorded before (a replay).

    Call it last, on an assertion that passed ``verify``: only the client can then have made
    it, so nobody else can use up its ``jti`` (``replay.first_use``).
    """
    remaining = float(parsed.claims["exp"]) + oauth_cc_settings.LEEWAY_SECONDS - now
    if not replay.first_use(REPLAY_PREFIX, client_id, str(parsed.claims["jti"]), remaining):
        raise _rejected("assertion_replayed",
                        " was used before: each jti is accepted once, so sign a new "
                        "assertion for each request.")
