"""What a ``private_key_jwt`` client may register (RFC 7523 §2.2): a JWK Set or a jwks_uri.

Checked in one place for the model, the admin, the portal and the command
(``validate_jwk_set``, ``validate_jwks_uri``, ``key_ids``; ``ValidationError`` with a message
that says what is wrong): a JWK Set (RFC 7517 §5) of 1 to ``MAX_KEYS`` public signature keys,
each RSA of 2048 to 8192 bits, EC on P-256, or OKP Ed25519. No symmetric key and no private
member: a ``private_key_jwt`` client leaves no secret with the server. ``alg``, when a key
names one, must fit the key; ``kid``s are unique. A jwks_uri is https, or http on a loopback
host for development.

``parse_jwk_set`` also gives the keys as objects, each with the algorithms it verifies
(``ClientKey``): what ``client_keys`` keeps per worker. Pure: no ORM, no HTTP, no settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ValidationError

from oauth_cc import jose
from oauth_cc.keys import MIN_RSA_KEY_SIZE, PRIVATE_JWK_MEMBERS, PublicKey, thumbprint

if TYPE_CHECKING:
    from oauth_cc.deadline_http import AddressPolicy, IPAddress

MAX_KEYS = 10
# A JWK Set of 10 RSA-8192 keys is about 15 KB; x5c chains may add some.
MAX_DOCUMENT_BYTES = 65_536
MAX_RSA_KEY_SIZE = 8192  # verifying costs the square of the size: bound what a client makes us do
MAX_KID_LENGTH = 200
MAX_URI_LENGTH = 2048

RSA_ALGORITHMS = frozenset({"RS256", "PS256"})
P256_ALGORITHMS = frozenset({"ES256"})
# RFC 9864 §2.2: "Ed25519" is the fully specified name of what "EdDSA" means for an Ed25519 key.
ED25519_ALGORITHMS = frozenset({"EdDSA", "Ed25519"})
#: What an assertion may be signed with, as the metadata lists it (never "none", never HMAC).
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
_OPTIONAL_MEMBERS = ("kid", "use", "alg", "key_ops")


@dataclass(frozen=True)
class ClientKey:
    """A client's public key and the algorithms it verifies (its type's, narrowed by its
    ``alg``). ``kid`` is None when the JWK names none."""

    kid: str | None
    algorithms: frozenset[str]
    key: PublicKey


# Validation


def validate_jwk_set(document: Mapping[str, Any] | str) -> dict[str, Any]:
    """The JWK Set ``document`` (a dict, or its JSON text) normalised: ``{"keys": [...]}``
    with each key's public members, ``kid``, ``use``, ``alg`` and ``key_ops`` only.

    Raises ``ValidationError`` saying what is wrong.
    """
    return parse_jwk_set(document)[0]


def key_ids(document: Mapping[str, Any] | str) -> list[str]:
    """Each key's ``kid``, or its RFC 7638 thumbprint when it has none, in the set's order.

    Raises ``ValidationError`` if ``document`` is not a valid JWK Set.
    """
    normalised = validate_jwk_set(document)
    return [jwk.get("kid") or thumbprint(jwk) for jwk in normalised["keys"]]


def validate_jwks_uri(url: object) -> str:
    """``url`` if a client may register it as its ``jwks_uri``: an absolute https URL, or http
    on a loopback host (development), without credentials or fragment. Raises
    ``ValidationError``."""
    if not isinstance(url, str) or not url:
        raise ValidationError("The jwks_uri must be a non-empty string.")
    if len(url) > MAX_URI_LENGTH:
        raise ValidationError(f"The jwks_uri is longer than {MAX_URI_LENGTH} characters.")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValidationError("The jwks_uri must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as e:
        raise ValidationError("The jwks_uri is not a valid URL.") from e
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("The jwks_uri must be an absolute https URL.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("The jwks_uri must not contain credentials.")
    if parts.fragment:
        raise ValidationError("The jwks_uri must not have a fragment.")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValidationError("The jwks_uri must use https (http only on a loopback host such "
                              "as 127.0.0.1, for development).")
    try:
        literal = ip_address(parts.hostname)
    except ValueError:
        literal = None  # a name: each address it resolves to is judged when it is fetched
    if literal is not None and not address_policy(url)(literal):
        raise ValidationError(
            "The jwks_uri names an address this server does not fetch from (private, "
            "link-local, loopback, reserved or the like): use a public host.")
    return url


def address_policy(url: str) -> AddressPolicy:
    """Which addresses the client ``jwks_uri`` ``url`` may be fetched from: globally routable
    unicast ones; and loopback ones if the URL's own host is a loopback name or address
    (``localhost``, 127.0.0.0/8, ``::1``), where registration allows http, for development.

    Refused: private (RFC 1918), link-local (cloud metadata), shared (RFC 6598), unique-local,
    site-local, multicast, unspecified, reserved and documentation addresses, the same in an
    IPv6 form that stands for IPv4, and loopback for any other host: a public name that
    resolves to 127.0.0.1 points at this server, not at its client.
    """
    loopback_host = is_loopback_host(urlsplit(url).hostname)

    def allowed(address: IPAddress) -> bool:
        address = _as_ipv4(address)
        return _is_public(address) or (loopback_host and address.is_loopback)

    return allowed


# NAT64's well-known prefix (RFC 6052 §2.1): a gateway turns these into IPv4 connections.
_NAT64 = ip_network("64:ff9b::/96")


def _as_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one reaches, if it stands for one: IPv4-mapped (RFC 4291
    §2.5.5.2, which a dual-stack socket connects to over IPv4), NAT64, or 6to4 (RFC 3056).
    Else ``address``."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour if address.sixtofour is not None else address


def _is_public(address: IPAddress) -> bool:
    """Globally routable unicast. ``is_global`` alone, before Python 3.13, counts multicast,
    IPv6 site-local (RFC 3879) and IPv4-compatible (``::a.b.c.d``, reserved) as global."""
    return (address.is_global and not address.is_multicast and not address.is_reserved
            and not (isinstance(address, IPv6Address) and address.is_site_local))


def jwk_set_validator(value: Any) -> None:
    """``validate_jwk_set`` as a model field validator."""
    validate_jwk_set(value)


def jwks_uri_validator(value: Any) -> None:
    """``validate_jwks_uri`` as a model field validator."""
    validate_jwks_uri(value)


def is_loopback_host(host: str | None) -> bool:
    """Whether a URL's host (as ``urlsplit`` gives it: unbracketed) is ``localhost`` or a
    loopback address: such a ``jwks_uri`` may be http, and is fetched from loopback."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(value: object) -> str:
    """``value`` quoted for a message, shortened: it comes from whoever registers keys."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _document(document: Mapping[str, Any] | str) -> Mapping[str, Any]:
    """``document`` as an object, bounded in size. Raises ``ValidationError``."""
    if isinstance(document, str):
        if len(document.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
            raise ValidationError(f"The JWK Set is larger than {MAX_DOCUMENT_BYTES} bytes.")
        try:
            # RFC 7517 §4: member names within a JWK must be unique.
            document = jose.loads(document.strip())
        except jose.DuplicateMember as e:
            raise ValidationError("The JWK Set is not valid: a JSON object in it names a "
                                  "member twice.") from e
        except jose.LoneSurrogate as e:
            raise ValidationError(f"The JWK Set is not valid: it {e}") from e
        except (ValueError, RecursionError) as e:
            raise ValidationError("The JWK Set is not valid JSON.") from e
    elif isinstance(document, Mapping):
        try:
            jose.refuse_lone_surrogates(document)  # as jose.loads does for text
        except jose.LoneSurrogate as e:
            raise ValidationError(f"The JWK Set is not valid: it {e}") from e
        try:
            size = len(json.dumps(document, separators=(",", ":")).encode())
        except (TypeError, ValueError, RecursionError) as e:
            raise ValidationError("The JWK Set holds values that are not JSON.") from e
        if size > MAX_DOCUMENT_BYTES:
            raise ValidationError(f"The JWK Set is larger than {MAX_DOCUMENT_BYTES} bytes.")
    if not isinstance(document, Mapping):
        raise ValidationError('A JWK Set is a JSON object with a "keys" list.')
    return document


def parse_jwk_set(document: Mapping[str, Any] | str
                  ) -> tuple[dict[str, Any], tuple[ClientKey, ...]]:
    """The normalised set (as ``validate_jwk_set`` returns it) and its keys. Raises
    ``ValidationError``."""
    document = _document(document)
    entries = document.get("keys")
    if not isinstance(entries, list):
        if "kty" in document:
            raise ValidationError('This is a single JWK, not a JWK Set: put it in one, as '
                                  '{"keys": [ ... ]}.')
        raise ValidationError('A JWK Set is a JSON object with a "keys" list.')
    if not entries:
        raise ValidationError("The JWK Set has no keys.")
    if len(entries) > MAX_KEYS:
        raise ValidationError(f"The JWK Set has {len(entries)} keys; at most {MAX_KEYS} are "
                              "allowed.")
    normalised, loaded, kids = [], [], set()
    for number, entry in enumerate(entries, 1):
        jwk, key = _load_jwk(entry, f"Key {number}")
        if key.kid is not None:
            if key.kid in kids:
                raise ValidationError(f"The kid {_shown(key.kid)} names more than one key; "
                                      "kids must be unique.")
            kids.add(key.kid)
        normalised.append(jwk)
        loaded.append(key)
    return {"keys": normalised}, tuple(loaded)


def _load_jwk(entry: object, where: str) -> tuple[dict[str, Any], ClientKey]:
    """The normalised JWK and its key. Raises ``ValidationError``."""
    if not isinstance(entry, dict):
        raise ValidationError(f"{where} is not a JSON object.")
    private = sorted(PRIVATE_JWK_MEMBERS & entry.keys())
    if private:
        raise ValidationError(f"{where} has private or symmetric key members "
                              f"({', '.join(private)}): register only the public key.")
    kty = entry.get("kty")
    if kty == "oct":
        raise ValidationError(f"{where} is a symmetric key (kty oct); private_key_jwt needs a "
                              "public key.")
    if not isinstance(kty, str) or kty not in _MEMBERS:
        raise ValidationError(f"{where} has the key type {_shown(kty)}; use RSA, EC (P-256) "
                              "or OKP (Ed25519).")
    kid = entry.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH):
        raise ValidationError(f"{where} has a kid that is not a string of 1 to "
                              f"{MAX_KID_LENGTH} characters.")
    use = entry.get("use")
    if use is not None and use != "sig":
        raise ValidationError(f"{where} has use {_shown(use)}; a client's keys are for "
                              'signatures (use "sig").')
    operations = entry.get("key_ops")
    if operations is not None and (not isinstance(operations, list)
                                   or "verify" not in operations
                                   or not all(isinstance(op, str) for op in operations)):
        raise ValidationError(f'{where} has key_ops without "verify".')
    try:
        key = strict_public_key(entry)
        algorithms = key_algorithms(key)
        algorithms = narrowed_algorithms(algorithms, entry.get("alg"))
    except ValueError as e:
        raise ValidationError(f"{where} {e}") from e
    jwk = {name: entry[name] for name in ("kty", *_MEMBERS[kty]) if name in entry}
    jwk.update({name: entry[name] for name in _OPTIONAL_MEMBERS if name in entry})
    return jwk, ClientKey(kid, algorithms, key)


def _member(entry: dict[str, Any], name: str) -> bytes:
    value = entry.get(name)
    if not isinstance(value, str) or _BASE64URL.fullmatch(value) is None:
        raise ValueError(f"has no base64url {name!r} member.")
    try:
        return jose.b64decode(value, name)
    except jose.MalformedJWS as e:
        raise ValueError(f"has a {name!r} member that is not canonical base64url.") from e


def strict_public_key(entry: dict[str, Any]) -> PublicKey:
    """The key of a JWK whose ``kty`` is RSA, EC or OKP, by the rules of registered client
    keys (strict base64url, RSA of 2048 to 8192 bits with a sane exponent, P-256, Ed25519);
    DPoP proofs' keys are read by it too. Raises ``ValueError`` (completing "Key N ...")."""
    kty = entry["kty"]
    if kty == "RSA":
        modulus, exponent = _member(entry, "n"), _member(entry, "e")
        if len(modulus) > MAX_RSA_KEY_SIZE // 8 + 1 or len(exponent) > 8:
            raise ValueError(f"is an RSA key larger than {MAX_RSA_KEY_SIZE} bits, or with an "
                             "exponent that is not sane.")
        try:
            return rsa.RSAPublicNumbers(int.from_bytes(exponent, "big"),
                                        int.from_bytes(modulus, "big")).public_key()
        except ValueError as e:
            raise ValueError("is not a valid RSA public key.") from e
    crv = entry.get("crv")
    if kty == "EC":
        if crv != "P-256":
            raise ValueError(f"is on the curve {_shown(crv)}; only P-256 (ES256) is accepted.")
        x, y = _member(entry, "x"), _member(entry, "y")
        if len(x) != 32 or len(y) != 32:
            raise ValueError("has P-256 coordinates that are not 32 bytes long.")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
        except ValueError as e:
            raise ValueError("is not a point on P-256.") from e
    if crv != "Ed25519":
        raise ValueError(f"is an OKP key on {_shown(crv)}; only Ed25519 is accepted.")
    x = _member(entry, "x")
    if len(x) != 32:
        raise ValueError("has an Ed25519 public key that is not 32 bytes long.")
    return ed25519.Ed25519PublicKey.from_public_bytes(x)


def key_algorithms(key: object) -> frozenset[str]:
    """The assertion algorithms ``key`` verifies, by its type and size. Raises ``ValueError``
    (completing "Key N ...") for a key a client may not use."""
    if isinstance(key, rsa.RSAPublicKey):
        size, exponent = key.key_size, key.public_numbers().e
        if size < MIN_RSA_KEY_SIZE:
            raise ValueError(f"is a {size}-bit RSA key; at least {MIN_RSA_KEY_SIZE} bits are "
                             "required.")
        if size > MAX_RSA_KEY_SIZE:
            raise ValueError(f"is a {size}-bit RSA key; at most {MAX_RSA_KEY_SIZE} bits are "
                             "accepted.")
        if exponent < 3 or exponent % 2 == 0 or exponent.bit_length() > 32:
            raise ValueError("has an RSA exponent e that is not sane (65537 is usual).")
        return RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"is on the curve {key.curve.name}; only P-256 (ES256) is "
                             "accepted.")
        return P256_ALGORITHMS
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ED25519_ALGORITHMS
    raise ValueError("is of a type that cannot sign client assertions.")


def narrowed_algorithms(algorithms: frozenset[str], alg: object) -> frozenset[str]:
    """What a key verifies once its JWK's ``alg`` is taken into account (RFC 7517 §4.4).
    Raises ``ValueError`` (completing "Key N ...") for an ``alg`` that does not fit."""
    if alg is None:
        return algorithms
    if not isinstance(alg, str) or alg not in algorithms:
        raise ValueError(f"says alg {_shown(alg)}, which does not fit it (use "
                         f"{' or '.join(sorted(algorithms))}).")
    return algorithms if algorithms is ED25519_ALGORITHMS else frozenset({str(alg)})
