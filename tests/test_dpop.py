"""The DPoP proof checker (oauth_cc/dpop.py, RFC 9449 §4.3), from the attacker's side as well
as the client's. Proofs are made with PyJWT by ``Prover``, which the endpoint tests share; the
clock is a number passed in, and the replay cache is the test settings' local-memory cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.test import override_settings
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from oauth_cc import dpop, process_cache, replay
from oauth_cc.dpop import InvalidProof, verify_proof
from tests.conftest import T0

URL = "https://api.example.com/api/address"
OTHER_URL = "https://api.example.com/api/phone"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjIn0.c2lnbmF0dXJl"

_KEYS: dict[str, Any] = {}


def new_key(kind: str) -> Any:
    """A private key of ``kind`` (rsa, ec, ed25519); one per kind and session for speed."""
    if kind not in _KEYS:
        _KEYS[kind] = {"rsa": lambda: rsa.generate_private_key(65537, 2048),
                       "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
                       "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]()
    return _KEYS[kind]


def public_jwk(key: Any) -> dict[str, Any]:
    """The public JWK of ``key``'s public half, as PyJWT writes it."""
    public = key.public_key()
    for algorithm in (RSAAlgorithm, ECAlgorithm, OKPAlgorithm):
        try:
            jwk: dict[str, Any] = algorithm.to_jwk(public, as_dict=True)
        except Exception:  # noqa: S112 - not this algorithm's key type
            continue
        return jwk
    raise TypeError(key)


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3, written out here rather than taken from oauth_cc."""
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
               "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode()).digest())


class Prover:
    """A client's DPoP key pair and the proofs it makes with PyJWT (or an attacker's)."""

    ALGORITHMS = {"rsa": "RS256", "ec": "ES256", "ed25519": "EdDSA"}

    def __init__(self, kind: str = "ec", alg: str | None = None, *, fresh: bool = False
                 ) -> None:
        self.key = (new_key(kind) if not fresh else {
            "rsa": lambda: rsa.generate_private_key(65537, 2048),
            "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
            "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]())
        self.alg = alg or self.ALGORITHMS[kind]

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.key)

    @property
    def jkt(self) -> str:
        return thumbprint(self.jwk)

    def proof(self, htm: str = "GET", htu: str = URL, *, iat: float | None = T0,
              jti: str | None = None, access_token: str | None = None,
              header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None,
              drop: Iterable[str] = (), key: Any = None, alg: str | None = None) -> str:
        """A proof for ``htm`` ``htu``; ``header``/``claims`` override or add members,
        ``drop`` removes claims, ``key``/``alg`` sign with something else."""
        payload: dict[str, Any] = {"jti": jti or uuid.uuid4().hex, "htm": htm, "htu": htu,
                                   "iat": iat}
        if access_token is not None:
            payload["ath"] = ath(access_token)
        payload.update(claims or {})
        for name in drop:
            payload.pop(name, None)
        headers = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        return jwt.encode(payload, self.key if key is None else key, algorithm=alg or self.alg,
                          headers=headers)


def forged(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    """A compact JWS written by hand, for what PyJWT will not sign."""
    segments = [b64(json.dumps(part, separators=(",", ":")).encode())
                for part in (header, payload)]
    return ".".join([*segments, b64(signature)])


def check(proof: str, *, method: str = "GET", urls: tuple[str, ...] = (URL,),
          now: float = T0, **kwargs: Any) -> dpop.VerifiedProof:
    return verify_proof(proof, method=method, urls=urls, now=now, **kwargs)


def refused(proof: str, **kwargs: Any) -> str:
    with pytest.raises(InvalidProof) as raised:
        check(proof, **kwargs)
    return raised.value.description


# What a client does


@pytest.mark.parametrize(("kind", "alg"), [
    ("ec", "ES256"), ("rsa", "RS256"), ("rsa", "PS256"), ("ed25519", "EdDSA"),
])
def test_proofs_of_every_default_algorithm_are_accepted(kind, alg):
    prover = Prover(kind, alg)
    verified = check(prover.proof())
    assert verified.jkt == prover.jkt


def test_ed25519_the_fully_specified_name_of_eddsa_is_accepted():
    """oauth4webapi (openid-client) signs Ed25519 proofs as "Ed25519" (RFC 9864)."""
    prover = Prover("ed25519")
    header, payload, _ = prover.proof().split(".")
    header_json = json.loads(base64.urlsafe_b64decode(header + "=="))
    header_json["alg"] = "Ed25519"
    new_header = b64(json.dumps(header_json).encode())
    signature = prover.key.sign(f"{new_header}.{payload}".encode())
    assert check(f"{new_header}.{payload}.{b64(signature)}").jkt == prover.jkt


def test_a_proof_for_a_resource_carries_the_token_hash():
    prover = Prover()
    proof = prover.proof(access_token=ACCESS_TOKEN)
    assert check(proof, access_token=ACCESS_TOKEN, jkt=prover.jkt).jkt == prover.jkt


def test_application_prefix_and_case_of_typ_are_accepted():
    """RFC 7515 §4.1.9: "application/" may be omitted, and media types ignore case."""
    assert check(Prover().proof(header={"typ": "application/DPoP+JWT"}))


def test_a_nonce_claim_is_ignored():
    """We never send DPoP-Nonce (RFC 9449 §8), so no nonce is checked."""
    assert check(Prover().proof(claims={"nonce": "anything"}))


def test_the_returned_jti_is_the_proofs():
    assert check(Prover().proof(jti="my-jti")).jti == "my-jti"


# Replays (RFC 9449 §11.1)


def test_a_proof_is_accepted_once():
    proof = Prover().proof()
    check(proof)
    assert "used before" in refused(proof)


def test_a_replay_is_refused_even_for_another_request_it_would_fit():
    prover = Prover()
    check(prover.proof(jti="same"))
    assert "used before" in refused(prover.proof(jti="same", htu=URL))


def test_a_jti_is_per_key():
    """Another key's proof with the same jti is a different proof: nobody can use up a jti
    of proofs made by a key they do not hold."""
    check(Prover("ec").proof(jti="shared"))
    assert check(Prover("rsa").proof(jti="shared"))


def test_a_refused_proof_does_not_use_up_its_jti():
    prover = Prover()
    refused(prover.proof(jti="retry", htu=OTHER_URL))
    assert check(prover.proof(jti="retry"))


def test_the_jti_is_remembered_for_the_proofs_remaining_window(monkeypatch):
    added: list[tuple[str, int]] = []

    class Cache:
        def add(self, key: str, value: object, timeout: int) -> bool:
            added.append((key, timeout))
            return True

    monkeypatch.setattr(replay, "shared_cache", Cache)
    check(Prover().proof(iat=T0 - 50))  # 10 s left of the 60 s window
    check(Prover().proof(iat=T0 + 30))  # 90 s left
    assert [timeout for _, timeout in added] == [11, 91]
    assert all(key.startswith(dpop.REPLAY_PREFIX) for key, _ in added)


# The header: typ, alg, jwk (RFC 9449 §4.3 (4)-(7))


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt", "dpop", 7])
def test_a_wrong_or_missing_typ_is_refused(typ):
    prover = Prover()
    proof = prover.proof(header={"typ": typ})
    if typ is None:  # PyJWT writes typ JWT when none is given: write the header by hand
        header = b64(json.dumps({"alg": "ES256", "jwk": prover.jwk}).encode())
        payload = proof.split(".")[1]
        signature = jwt.algorithms.ECAlgorithm(ECAlgorithm.SHA256).sign(
            f"{header}.{payload}".encode(), prover.key)
        proof = f"{header}.{payload}.{b64(signature)}"
    assert "typ must be dpop+jwt" in refused(proof)


@pytest.mark.parametrize("signature", [b"sig", b""])
def test_alg_none_is_refused(signature):
    prover = Prover()
    proof = forged({"typ": "dpop+jwt", "alg": "none", "jwk": prover.jwk},
                   {"jti": "x", "htm": "GET", "htu": URL, "iat": T0}, signature)
    description = refused(proof)
    assert ("never none or an HMAC" in description if signature
            else "not that of a signed JWT" in description)


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_an_hmac_keyed_with_the_jwk_is_refused(alg):
    """The classic confusion: an HMAC with the public key's bytes as the secret."""
    prover = Prover()
    header = b64(json.dumps({"typ": "dpop+jwt", "alg": alg, "jwk": prover.jwk}).encode())
    payload = b64(json.dumps({"jti": "x", "htm": "GET", "htu": URL, "iat": T0}).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    for secret in (json.dumps(prover.jwk).encode(), prover.jwk["x"].encode()):
        mac = hmac.new(secret, f"{header}.{payload}".encode(), digest).digest()
        assert "never none or an HMAC" in refused(f"{header}.{payload}.{b64(mac)}")


def test_an_algorithm_outside_the_setting_is_refused():
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "DPOP_ALGORITHMS": ["ES256"]}):
        assert "alg must be one of ES256" in refused(Prover("rsa").proof())
        assert check(Prover("ec").proof())


def test_a_settings_change_applies_to_a_header_seen_before():
    prover = Prover("rsa")
    check(prover.proof())  # its header is now in the per-worker map
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "DPOP_ALGORITHMS": ["ES256"]}):
        assert "alg must be one of" in refused(prover.proof())


@pytest.mark.parametrize(("kind", "alg"), [("ec", "RS256"), ("rsa", "ES256"),
                                           ("ed25519", "ES256"), ("rsa", "EdDSA")])
def test_an_alg_that_does_not_fit_the_jwk_is_refused(kind, alg):
    prover = Prover(kind)
    header, payload = prover.proof().split(".")[:2]
    header_json = json.loads(base64.urlsafe_b64decode(header + "=="))
    header_json["alg"] = alg
    proof = forged(header_json, json.loads(base64.urlsafe_b64decode(payload + "==")),
                   b"x" * 64)
    assert "does not fit its jwk's key type" in refused(proof)


@pytest.mark.parametrize(("kind", "members"), [
    ("ec", ("d",)), ("rsa", ("d", "p", "q", "dp", "dq", "qi")), ("ed25519", ("d",)),
])
def test_a_private_key_in_the_jwk_is_refused(kind, members):
    prover = Prover(kind)
    private = {"ec": ECAlgorithm, "rsa": RSAAlgorithm, "ed25519": OKPAlgorithm}[kind].to_jwk(
        prover.key, as_dict=True)
    assert set(members) <= private.keys()
    description = refused(prover.proof(header={"jwk": private}))
    assert "private or symmetric key members" in description
    assert "d" in description


def test_a_symmetric_jwk_is_refused():
    proof = Prover().proof(header={"jwk": {"kty": "oct", "k": b64(b"secret" * 6)}})
    assert "private or symmetric key members (k)" in refused(proof)


@pytest.mark.parametrize("jwk", [None, "a string", {"kty": "EC"}, {"kty": "RSA", "n": "AQAB"},
                                 {"kty": "OKP", "crv": "X25519", "x": b64(b"x" * 32)}])
def test_a_missing_or_unusable_jwk_is_refused(jwk):
    header = {"jwk": jwk} if jwk is not None else {"jwk": None}
    assert "jwk" in refused(Prover().proof(header=header))


def test_a_small_rsa_key_is_refused():
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the attacker's key
    with pytest.warns(InsecureKeyLengthWarning):
        proof = jwt.encode({"jti": "x", "htm": "GET", "htu": URL, "iat": T0}, small,
                           algorithm="RS256",
                           headers={"typ": "dpop+jwt", "jwk": public_jwk(small)})
    assert "1024-bit RSA key" in refused(proof)


def test_a_p384_key_is_refused():
    key = ec.generate_private_key(ec.SECP384R1())
    proof = jwt.encode({"jti": "x", "htm": "GET", "htu": URL, "iat": T0}, key,
                       algorithm="ES384", headers={"typ": "dpop+jwt", "jwk": public_jwk(key)})
    assert "alg must be one of" in refused(proof)


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused():
    prover, thief = Prover("ec"), Prover("ec", fresh=True)
    proof = prover.proof(key=thief.key)
    assert "does not verify with its jwk" in refused(proof)


def test_a_tampered_payload_is_refused():
    prover = Prover()
    header, _, signature = prover.proof(htu=OTHER_URL).split(".")
    _, payload, _ = prover.proof().split(".")
    assert "does not verify" in refused(f"{header}.{payload}.{signature}")


def test_crit_is_refused():
    assert "crit" in refused(Prover().proof(header={"crit": ["exp"]}))


# The claims (RFC 9449 §4.3 (3), (8), (9), (11), (12))


def test_a_proof_for_another_method_is_refused():
    assert "htm is not this request's method, GET" in refused(Prover().proof(htm="POST"))


def test_htm_is_case_sensitive():
    assert "htm" in refused(Prover().proof(htm="get"))


def test_a_proof_for_another_url_is_refused():
    description = refused(Prover().proof(htu=OTHER_URL))
    assert f"htu is not this request's URL, {URL}" in description


@pytest.mark.parametrize("htu", [
    "https://api.example.com/api/address/", "http://api.example.com/api/address",
    "https://api.example.com:8443/api/address", "https://evil.example/api/address",
    "https://api.example.com.evil.example/api/address", "https://user@api.example.com/api/address",
    "api.example.com/api/address", "/api/address", "", "https://api.example.com/api/%zz",
])
def test_urls_that_name_another_resource_are_refused(htu):
    assert "htu" in refused(Prover().proof(htu=htu))


@pytest.mark.parametrize("htu", [
    "HTTPS://API.Example.COM/api/address",  # scheme and host are case-insensitive
    "https://api.example.com:443/api/address",  # the default port
    "https://api.example.com/api/./x/../address",  # dot segments
    "https://api.example.com/api/%61ddress",  # percent-encoded unreserved characters
    "https://api.example.com/api/address?q=1",  # the query and fragment are ignored
    "https://api.example.com/api/address#top",
])
def test_rfc_3986_normalisation_accepts_other_spellings_of_the_url(htu):
    assert check(Prover().proof(htu=htu))


def test_any_of_the_given_urls_is_accepted():
    assert check(Prover().proof(htu=OTHER_URL), urls=(URL, OTHER_URL))


@pytest.mark.parametrize("claim", ["htm", "htu", "iat", "jti"])
def test_each_required_claim_must_be_present(claim):
    assert claim in refused(Prover().proof(drop=[claim]))


@pytest.mark.parametrize(("claim", "value"), [
    ("jti", ""), ("jti", 42), ("jti", "x" * 257), ("htm", 1), ("htu", ["a"]),
    ("iat", "1767225600"), ("iat", True), ("iat", None),
])
def test_claims_of_the_wrong_type_are_refused(claim, value):
    assert claim in refused(Prover().proof(claims={claim: value}))


@pytest.mark.parametrize("iat", [10**400, -(10**400), 10**20, -1],
                         ids=["10**400", "-10**400", "10**20", "-1"])
def test_an_iat_that_is_no_time_is_refused(iat):
    # 10**400 is an int no float can hold: it once raised OverflowError (a 500), before the
    # signature was checked.
    assert "iat claim is not a time" in refused(Prover().proof(iat=iat))


def test_a_lone_surrogate_jti_is_refused():
    # It once failed as the replay check hashed it: a 500 for any signed proof.
    assert "not Unicode" in refused(Prover().proof(jti="\ud800"))


@pytest.mark.parametrize("iat", [T0 - 60, T0, T0 + 60, T0 - 59.5])
def test_iat_within_the_window_either_way_is_accepted(iat):
    assert check(Prover().proof(iat=iat))


def test_a_stale_proof_is_refused():
    assert "stale" in refused(Prover().proof(iat=T0 - 61))


def test_a_proof_from_the_future_is_refused():
    assert "in the future" in refused(Prover().proof(iat=T0 + 61))


def test_the_window_is_the_setting():
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "DPOP_PROOF_MAX_AGE_SECONDS": 300}):
        assert check(Prover().proof(iat=T0 - 300))
        assert "300 seconds" in refused(Prover().proof(iat=T0 - 301))


def test_a_proof_without_ath_is_refused_with_an_access_token():
    assert "no ath claim" in refused(Prover().proof(), access_token=ACCESS_TOKEN)


def test_ath_of_another_token_is_refused():
    proof = Prover().proof(access_token=ACCESS_TOKEN + "x")
    assert "ath is not the hash of this access token" in refused(proof,
                                                                 access_token=ACCESS_TOKEN)


def test_a_key_other_than_the_bound_one_is_refused():
    prover, thief = Prover("ec"), Prover("rsa")
    proof = thief.proof(access_token=ACCESS_TOKEN)
    description = refused(proof, access_token=ACCESS_TOKEN, jkt=prover.jkt)
    assert "other than the one the access token is bound to" in description


# Shape


def test_a_proof_longer_than_the_bound_is_refused():
    proof = Prover().proof(claims={"pad": "x" * dpop.MAX_PROOF_LENGTH})
    assert "longer than 8192" in refused(proof)


@pytest.mark.parametrize("proof", ["", "not a jwt", "a.b", "a.b.c.d", "é.a.b"])
def test_what_is_not_a_compact_jws_is_refused(proof):
    assert refused(proof).startswith("The DPoP proof's form is not that of a signed JWT")


def test_a_header_naming_a_member_twice_is_refused():
    prover = Prover()
    payload = prover.proof().split(".")[1]
    header = b64(b'{"typ":"dpop+jwt","alg":"ES256","alg":"ES256"}')
    assert "more than one 'alg' member" in refused(f"{header}.{payload}.AAAA")


def test_descriptions_hold_only_error_description_characters():
    proof = Prover().proof(htm='GE"T\\')
    description = refused(proof, method='GE"T')
    assert '"' not in description and "\\" not in description


# The per-worker map of parsed headers


def test_a_clients_repeated_proofs_parse_its_key_once(monkeypatch):
    calls = []
    original = dpop.strict_public_key
    monkeypatch.setattr(dpop, "strict_public_key", lambda jwk: calls.append(1) or original(jwk))
    prover = Prover()
    for _ in range(3):
        check(prover.proof())
    assert len(calls) == 1


def test_the_map_is_a_registered_process_cache():
    check(Prover().proof())
    assert len(dpop._headers) == 1
    process_cache.clear_all()
    assert len(dpop._headers) == 0


def test_the_map_is_bounded():
    assert dpop._headers.limit is not None and dpop._headers.limit <= 4096


def test_a_refused_header_is_not_remembered():
    refused(Prover().proof(header={"typ": "JWT"}))
    assert len(dpop._headers) == 0


# Thumbprints (RFC 7638)


def test_the_rfc_7638_example_thumbprint():
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
         "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
         "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
         "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    modulus = int.from_bytes(base64.urlsafe_b64decode(n + "=="), "big")
    key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    assert dpop.jwk_thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_rfc_9449_example_key_thumbprint():
    """The key of RFC 9449 §4.2's example proof, bound in §6.1's example token."""
    jwk = {"kty": "EC", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
           "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "crv": "P-256"}
    key = ECAlgorithm.from_jwk(jwk)
    assert dpop.jwk_thumbprint(key) == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"


def test_a_thumbprint_is_of_the_key_not_of_its_spelling():
    """An RSA exponent written with a leading zero byte is the same key, and the same jkt."""
    prover = Prover("rsa")
    jwk = {**prover.jwk, "e": b64(b"\x00\x01\x00\x01")}
    assert check(prover.proof(header={"jwk": jwk})).jkt == prover.jkt


# The helpers the views use


def test_proof_header():
    assert dpop.proof_header({}) is None
    assert dpop.proof_header({"HTTP_DPOP": " a.b.c "}) == "a.b.c"
    with pytest.raises(InvalidProof, match="more than one DPoP header"):
        dpop.proof_header({"HTTP_DPOP": "a.b.c,d.e.f"})
    with pytest.raises(InvalidProof, match="empty"):
        dpop.proof_header({"HTTP_DPOP": "  "})


def test_bound_jkt():
    assert dpop.bound_jkt({"sub": "c"}) is None
    assert dpop.bound_jkt({"cnf": {"jkt": "abc"}}) == "abc"
    # As the verified-token cache keeps it: read-only.
    assert dpop.bound_jkt({"cnf": MappingProxyType({"jkt": "abc"})}) == "abc"
    for cnf in ({}, {"x5t#S256": "abc"}, {"jkt": 1}, {"jkt": ""}, "abc", []):
        with pytest.raises(InvalidProof, match="cannot check"):
            dpop.bound_jkt({"cnf": cnf})


def test_access_token_hash_is_rfc_9449s():
    """RFC 9449 §7.1's example: the ath of the token in its example request."""
    assert dpop.access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == \
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize(("uri", "normal"), [
    ("https://API.example.com", "https://api.example.com/"),
    ("http://api.example.com:80/a", "http://api.example.com/a"),
    ("https://api.example.com:8443/a", "https://api.example.com:8443/a"),
    ("https://[::1]:443/a/b/../c/./d", "https://[::1]/a/c/d"),
    ("https://h/a/..", "https://h/"),
    ("https://h/a/%7Eb%20c", "https://h/a/~b c"),
    ("https://h/a?x#y", "https://h/a"),
    ("ftp://h/a", None), ("https:///a", None), ("https://u:p@h/a", None),
    ("https://h:99999/a", None), ("https://h/a b", None), ("https://h/%ff", None),
])
def test_normalise_uri(uri, normal):
    assert dpop.normalise_uri(uri) == normal


def test_an_alg_for_a_key_type_the_server_accepts_none_of_is_refused():
    prover = Prover("rsa")
    header, payload = prover.proof().split(".")[:2]
    header_json = json.loads(base64.urlsafe_b64decode(header + "=="))
    header_json["alg"] = "ES256"
    proof = forged(header_json, json.loads(base64.urlsafe_b64decode(payload + "==")))
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "DPOP_ALGORITHMS": ["ES256"]}):
        assert "accepts no algorithm for that key type" in refused(proof)


@pytest.mark.parametrize(("path", "url"), [
    ("/api/address", "http://testserver/api/address"),
    ("/api/a b", "http://testserver/api/a%20b"),  # request.path is decoded; the URL is not
    ("/api/café", "http://testserver/api/caf%C3%A9"),
    # build_absolute_uri() would resolve this like a link, to http://evil.example/x
    ("//evil.example/x", "http://testserver//evil.example/x"),
])
def test_request_url_is_the_requests_own_host_and_path(path, url):
    from django.test import RequestFactory

    request = RequestFactory().get("/", {"q": "1"})
    request.path = path  # as a WSGI server would give it: RequestFactory reads "//" as a host
    assert dpop.request_url(request) == url


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   USE_X_FORWARDED_HOST=True, ALLOWED_HOSTS=["api.example.com"])
def test_request_url_follows_djangos_proxy_settings():
    from django.core.exceptions import DisallowedHost
    from django.test import RequestFactory

    factory = RequestFactory()
    request = factory.get("/api/address", HTTP_X_FORWARDED_PROTO="https",
                          HTTP_X_FORWARDED_HOST="api.example.com")
    assert dpop.request_url(request) == URL
    with pytest.raises(DisallowedHost):  # ALLOWED_HOSTS still decides which hosts count
        dpop.request_url(factory.get("/api/address", HTTP_X_FORWARDED_HOST="evil.example"))
