"""Checking DPoP proofs (RFC 9449 §4.3): the JWT a client signs per request to show that it
holds the private key a token is (or is to be) bound to.

- The compact form is read strictly (``jose``), at most ``MAX_PROOF_LENGTH`` characters.
- Header: ``typ`` ``dpop+jwt``; ``alg`` one of ``DPOP_ALGORITHMS`` (never ``none`` or an
  HMAC: ``checks`` refuses those in the setting) that fits the key; ``jwk`` a public RSA
  (2048 to 8192 bits), P-256 or Ed25519 key, without any private member. The key decides: the
  signature is verified with that key and that ``alg`` only.
- Claims: ``htm`` the request's method; ``htu`` its URL without query and fragment, compared
  after RFC 3986 §6.2.2-6.2.3 normalisation; ``iat`` within ``DPOP_PROOF_MAX_AGE_SECONDS`` of
  now, either way; ``jti`` present, and used once (``_use_once``); at a resource, ``ath`` the
  hash of the access token sent with it (§4.2), and the key's thumbprint the token's
  ``cnf.jkt`` (§6.1).
- A parsed header (the key object and its RFC 7638 thumbprint) is kept per worker by the
  header's text, which canonical parsing makes one-to-one: a client signs every proof with the
  same header, so its key is read once.

Every failure is ``InvalidProof``, whose ``description`` says what is wrong for the client;
the token endpoint answers it as ``invalid_dpop_proof``, the resource side as
``invalid_token``. Library errors stop here. Nothing here knows HTTP but the small helpers at
the end, which read a request's ``DPoP`` header and URL, and a token's binding.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from django.utils.encoding import iri_to_uri
from django.views.decorators.debug import sensitive_variables

from oauth_cc import jose, replay
from oauth_cc.cache import TTLMap
from oauth_cc.client_jwks import key_algorithms, strict_public_key
from oauth_cc.exceptions import description_text
from oauth_cc.keys import (
    PRIVATE_JWK_MEMBERS,
    PublicKey,
    SignatureVerifier,
    public_jwk,
    signature_verifier,
    thumbprint,
)
from oauth_cc.settings import oauth_cc_settings

if TYPE_CHECKING:
    from django.http import HttpRequest

#: The ``Authorization`` scheme of a DPoP-bound token (RFC 9449 §7.1), lower-cased.
KEYWORD = "dpop"
#: The ``token_type`` of a DPoP-bound token (RFC 9449 §5).
TOKEN_TYPE = "DPoP"  # noqa: S105 - a token type, not a password
#: Every ``alg`` a proof may use, for the setting's check. "Ed25519" is RFC 9864's fully
#: specified name of what "EdDSA" means for an Ed25519 key (oauth4webapi signs with it).
SUPPORTED_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
MAX_URI_LENGTH = 4096
# Short: Django checks every character of a cache key in Python, on every request.
REPLAY_PREFIX = "oauth_cc:dpop:"
ACCEPTED_TYPES = frozenset({"dpop+jwt", "application/dpop+jwt"})
_EQUIVALENT = {"EdDSA": "Ed25519", "Ed25519": "EdDSA"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAPPINGS = (dict, MappingProxyType)
# The characters iri_to_uri() leaves as they are: a path of only these is already a URI path.
_URI_PATH = re.compile(r"[A-Za-z0-9/#%\[\]=:;$&()+,!?*@'~._-]*")


class InvalidProof(Exception):
    """A DPoP proof is missing, malformed or does not prove what it must. ``description``
    says which, in the characters an ``error_description`` may hold."""

    def __init__(self, description: str) -> None:
        self.description = description_text(description)
        super().__init__(self.description)


class VerifiedProof(NamedTuple):  # a tuple: one is made per DPoP request
    """A proof that passed every check: ``jkt`` is its key's RFC 7638 SHA-256 thumbprint (what
    a token is bound to), ``jti`` its identifier, now used up."""

    jkt: str
    jti: str


@dataclass(frozen=True)
class _ProofKey:
    """What a proof header says, checked: the algorithm, the key, its thumbprint, and the
    function that verifies a signature with them (``verify(signature, signing_input)``,
    raising ``InvalidSignature`` or ``ValueError``)."""

    alg: str
    key: PublicKey
    jkt: str
    verify: SignatureVerifier


# Parsed headers by their text. Bounded: a flood of headers with fresh keys only evicts.
_headers: TTLMap[str, _ProofKey] = TTLMap(ttl=lambda: 3600.0, limit=1024)


def accepted_algorithms() -> frozenset[str]:
    """``DPOP_ALGORITHMS``, with "EdDSA" and "Ed25519" standing for each other."""
    configured = oauth_cc_settings.DPOP_ALGORITHMS
    return frozenset(configured) | {_EQUIVALENT[a] for a in configured if a in _EQUIVALENT}


@sensitive_variables()  # the access token, when given, is a credential
def verify_proof(proof: str, *, method: str, urls: Sequence[str], now: float,
                 access_token: str | None = None, jkt: str | None = None) -> VerifiedProof:
    """Check ``proof`` (the ``DPoP`` header's value) for a request with ``method`` to one of
    ``urls`` at ``now``, then use up its ``jti``. Returns the ``VerifiedProof``.

    ``access_token``: the token sent with it (a resource request), whose hash ``ath`` must
    be. ``jkt``: the thumbprint that token is bound to (``cnf.jkt``), which the proof's key
    must have. Cheap checks come first and the signature last: a stale or misdirected proof
    costs no public-key operation, and only a proof its key's holder made uses up a ``jti``.
    Raises ``InvalidProof``.
    """
    try:
        header_segment, payload_segment, signature_segment = jose.split(
            proof, MAX_PROOF_LENGTH)
        proof_key = _proof_key(header_segment)
        claims = jose.json_object(payload_segment, "payload")
        signature = jose.b64decode(signature_segment, "signature")
    except jose.MalformedJWS as e:
        if isinstance(proof, str) and len(proof) > MAX_PROOF_LENGTH:
            raise InvalidProof(f"The DPoP proof is longer than {MAX_PROOF_LENGTH} "
                               "characters.") from e
        raise InvalidProof(f"The DPoP proof's {e}") from e
    jti = _check_claims(claims, method=method, urls=urls, now=now, access_token=access_token)
    if jkt is not None and proof_key.jkt != jkt:  # thumbprints are public: no timing to hide
        raise InvalidProof("The DPoP proof is signed with a key other than the one the access "
                           "token is bound to (cnf.jkt).")
    signed = proof[:len(header_segment) + 1 + len(payload_segment)].encode("ascii")
    try:
        proof_key.verify(signature, signed)
    except (InvalidSignature, ValueError, TypeError) as e:
        raise InvalidProof("The DPoP proof's signature does not verify with its jwk.") from e
    _use_once(proof_key.jkt, jti, float(claims["iat"]), now)
    return VerifiedProof(proof_key.jkt, jti)


def _proof_key(segment: str) -> _ProofKey:
    """The checked header of ``segment``, from the per-worker map or parsed now. Raises
    ``InvalidProof`` or ``jose.MalformedJWS``."""
    cached = _headers.get(segment)
    if cached is not None:
        return cached
    header = jose.json_object(segment, "header")
    typ, alg, jwk = header.get("typ"), header.get("alg"), header.get("jwk")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
        raise InvalidProof("The DPoP proof's typ must be dpop+jwt.")
    accepted = accepted_algorithms()
    if not isinstance(alg, str) or alg not in accepted:
        raise InvalidProof("The DPoP proof's alg must be one of "
                           f"{' '.join(oauth_cc_settings.DPOP_ALGORITHMS)}: an asymmetric "
                           "signature, never none or an HMAC.")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so must refuse
        raise InvalidProof("The DPoP proof requires header extensions (crit) this server "
                           "does not support.")
    key, fitting = _public(jwk)
    if alg not in fitting:
        usable = sorted(fitting & accepted)
        raise InvalidProof(f"The DPoP proof's alg {alg} does not fit its jwk's key type"
                           + (f": use {' or '.join(usable)}." if usable else
                              ", and this server accepts no algorithm for that key type."))
    checked = _ProofKey(alg, key, jwk_thumbprint(key), signature_verifier(alg, key))
    _headers.put(segment, checked)
    return checked


def _public(jwk: object) -> tuple[PublicKey, frozenset[str]]:
    """The public key of the header's ``jwk``, one a client may prove with, and the
    algorithms that fit it. Raises ``InvalidProof``."""
    if not isinstance(jwk, dict):
        raise InvalidProof("The DPoP proof's header has no jwk: the public key it is signed "
                           "with.")
    private = sorted(PRIVATE_JWK_MEMBERS & jwk.keys())
    if private:
        # RFC 9449 §4.3 (7): a proof that publishes its private key proves nothing.
        raise InvalidProof(f"The DPoP proof's jwk holds private or symmetric key members "
                           f"({', '.join(private)}): send only the public key.")
    kty = jwk.get("kty")
    if kty not in ("RSA", "EC", "OKP"):
        raise InvalidProof("The DPoP proof's jwk must be an RSA, EC (P-256) or OKP (Ed25519) "
                           "public key.")
    try:
        # The JWK reader and key rules of private_key_jwt's registered keys: strict
        # base64url, RSA of 2048 to 8192 bits with a sane exponent, P-256, Ed25519.
        key = strict_public_key(jwk)
        return key, key_algorithms(key)
    except ValueError as e:
        raise InvalidProof(f"The DPoP proof's jwk {e}") from e


def jwk_thumbprint(key: PublicKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``key``, from its canonical members: a JWK that
    spells a member with leading zero bytes names the same key, and gets the same
    thumbprint."""
    return thumbprint(public_jwk(key))


def access_token_hash(access_token: str) -> str:
    """``ath`` (RFC 9449 §4.2): base64url of the SHA-256 of the token's ASCII text."""
    digest = hashlib.sha256(access_token.encode("ascii", "replace")).digest()
    return jose.b64encode(digest)


_NUMBER_TYPES = (int, float)


def _check_claims(claims: Mapping[str, Any], *, method: str, urls: Sequence[str],
                  now: float, access_token: str | None) -> str:
    """RFC 9449 §4.3 (3), (8), (9), (11) and (12, ``ath``): returns the ``jti``. Raises
    ``InvalidProof``."""
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidProof("The DPoP proof has no jti claim: each proof needs a unique one.")
    if len(jti) > MAX_JTI_LENGTH:
        raise InvalidProof(f"The DPoP proof's jti is longer than {MAX_JTI_LENGTH} characters.")
    htm = claims.get("htm")
    if not isinstance(htm, str):
        raise InvalidProof("The DPoP proof has no htm claim.")
    if htm != method:  # RFC 9110 §9.1: methods are case-sensitive
        raise InvalidProof(f"The DPoP proof's htm is not this request's method, {method}.")
    htu = claims.get("htu")
    if not isinstance(htu, str):
        raise InvalidProof("The DPoP proof has no htu claim.")
    if not same_uri(htu, urls):
        raise InvalidProof(f"The DPoP proof's htu is not this request's URL, {urls[0]} "
                           "(without query and fragment).")
    issued: Any = claims.get("iat")
    if type(issued) not in _NUMBER_TYPES:
        raise InvalidProof("The DPoP proof's iat claim is missing or not a number.")
    # Also refuses NaN, infinities and ints too large for a float (math.isfinite would raise).
    if not 0 <= issued <= jose.MAX_TIMESTAMP:
        raise InvalidProof("The DPoP proof's iat claim is not a time we can use.")
    max_age = oauth_cc_settings.DPOP_PROOF_MAX_AGE_SECONDS
    if issued < now - max_age:
        raise InvalidProof(f"The DPoP proof is stale: its iat is more than {max_age} seconds "
                           "ago. Make a new proof for each request.")
    if issued > now + max_age:
        raise InvalidProof(f"The DPoP proof's iat is more than {max_age} seconds in the "
                           "future: check the client's clock.")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str):
            raise InvalidProof("The DPoP proof has no ath claim: the hash of the access token "
                               "it is sent with.")
        # A plain comparison: neither the hash nor ath is a secret, and one is of the token
        # the client itself sent.
        if ath != access_token_hash(access_token):
            raise InvalidProof("The DPoP proof's ath is not the hash of this access token.")
    return jti


def _use_once(jkt: str, jti: str, issued: float, now: float) -> None:
    """Record ``jti`` of ``jkt``'s proofs for as long as its proof could still be accepted,
    and a second more; raise ``InvalidProof`` if it was recorded before (RFC 9449 §11.1,
    ``replay.first_use``: keyed by the key too, so nobody can use up another key's ``jti``).
    """
    remaining = issued + oauth_cc_settings.DPOP_PROOF_MAX_AGE_SECONDS - now
    if not replay.first_use(REPLAY_PREFIX, jkt, jti, remaining + 1):
        raise InvalidProof("The DPoP proof was used before (its jti): make a new proof for "
                           "each request.")


# The htu comparison (RFC 9449 §4.3 (9))


def same_uri(htu: str, urls: Sequence[str]) -> bool:
    """Whether ``htu`` names one of ``urls``, query and fragment ignored, after RFC 3986
    §6.2.2 (case, percent-encoding, dot segments) and §6.2.3 (default port, empty path)
    normalisation; as RFC 9449 §4.3 asks, so that spelling does not refuse a good proof."""
    if htu in urls:  # the usual case: the client wrote the URL as we build it
        return True
    normalised = normalise_uri(htu)
    return normalised is not None and any(normalise_uri(url) == normalised for url in urls)


def normalise_uri(uri: str) -> str | None:
    """``uri`` as compared: ``scheme://host[:port]/path``, lower-case scheme and host, no
    default port, the path percent-decoded (Django routes the decoded path, and only it is
    known here) without dot segments; None for anything but an absolute http(s) URI."""
    if len(uri) > MAX_URI_LENGTH or any(c.isspace() or not c.isprintable() for c in uri):
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
        path = unquote(parts.path, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None \
            or parts.password is not None:
        return None
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{_without_dot_segments(path or '/')}"


def _without_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path."""
    if "." not in path:
        return path
    segments = path.split("/")
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and len(kept) > 1:
                kept.pop()
            if last:
                kept.append("")
            continue
        kept.append(segment)
    return "/".join(kept) or "/"


# The request side: two small helpers for the views and the authentication class


def proof_header(meta: Mapping[str, Any]) -> str | None:
    """The ``DPoP`` header of a request with this ``META``, or None if it has none. Raises
    ``InvalidProof`` for an empty one, or for several (RFC 9449 §4.3 (1)): servers join
    repeated headers with commas (WSGI, Django's ASGI handler), which no compact JWS holds.
    """
    value = meta.get("HTTP_DPOP")
    if value is None:
        return None
    if "," in value:
        raise InvalidProof("The request has more than one DPoP header: send exactly one.")
    value = value.strip()
    if not value:
        raise InvalidProof("The DPoP header is empty.")
    return str(value)


def request_url(request: HttpRequest) -> str:
    """The URL of ``request`` as the client saw it, without query and fragment: what its
    proof's ``htu`` must name.

    The scheme and host are those of ``request.build_absolute_uri()``, so that Django's own
    proxy settings decide them: ``SECURE_PROXY_SSL_HEADER`` the scheme,
    ``USE_X_FORWARDED_HOST`` / ``USE_X_FORWARDED_PORT`` the host and port, ``ALLOWED_HOSTS``
    which hosts count. ``TRUSTED_PROXIES`` is oauth_cc's setting for the client's address
    only; oauth_cc reads no ``X-Forwarded-*`` header for the URL itself. The path
    (``request.path``, the script prefix included) is appended as it is, IRI-encoded as
    ``build_absolute_uri`` does: that method resolves its argument like a link, which would
    read a path starting with ``//`` as another host.
    """
    path = request.path
    if _URI_PATH.fullmatch(path) is None:
        path = iri_to_uri(path)
    return f"{request.scheme}://{request.get_host()}{path}"


def bound_jkt(claims: Mapping[str, Any]) -> str | None:
    """The thumbprint a token with these claims is bound to (``cnf.jkt``, RFC 9449 §6.1);
    None for a token without ``cnf``. Raises ``InvalidProof`` for a ``cnf`` without a
    ``jkt`` (bound some other way, which this server cannot check)."""
    confirmation = claims.get("cnf")
    if confirmation is None:
        return None
    # Concrete types: an isinstance() against the Mapping ABC costs a microsecond per request.
    # The claims come from the JSON decoder (dict) or the verified-token cache (a read-only
    # view of one).
    jkt = confirmation.get("jkt") if type(confirmation) in _MAPPINGS else None
    if not isinstance(jkt, str) or not jkt:
        raise InvalidProof("The access token is bound to a key in a way this server cannot "
                           "check (its cnf claim has no jkt).")
    return jkt

