"""BearerJWTAuthentication + HasScope, from the attacker's side as well as the client's."""

from __future__ import annotations

import base64
import json
import random

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from oauth_cc import clock, state
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client, Project, SigningKey
from oauth_cc.testing import mint_token
from oauth_cc.verification import VerifiedToken
from tests.conftest import T0

pytestmark = pytest.mark.django_db
ISSUER = "https://issuer.test"


@pytest.fixture
def token(oauth_client, frozen_clock):
    client, _ = oauth_client
    return mint_token(client)


def get(http, path, token=None, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return http.get(path, **headers)


def assert_invalid_token(response, code="1024"):
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token", error_description="')
    body = response.json()
    assert body["error"] == "invalid_token"
    assert body["error_code"] == code
    return body["error_description"]


def forge(claims=None, header=None, *, key=None, algorithm=None, drop=()):
    """A token with our real signing key (unless ``key``), any claims and header."""
    signing = key_ring.signing_key()
    now = int(clock.now())
    payload = {"iss": ISSUER, "sub": "c", "client_id": "c", "aud": ISSUER, "iat": now,
               "nbf": now, "exp": now + 60, "jti": "j", "scope": "address", "project": "1"}
    payload.update(claims or {})
    for name in drop:
        payload.pop(name)
    headers = {"typ": "at+jwt", "kid": signing.kid, **(header or {})}
    return jwt.encode(payload, key or signing.private_key, algorithm=algorithm or "RS256",
                      headers=headers)


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# Success


def test_valid_token(http, oauth_client, token):
    client, _ = oauth_client
    response = get(http, "/api/address", token)
    assert response.status_code == 200
    assert response.json() == {
        "user": f"client {client.client_id}", "client_id": client.client_id,
        "project_id": str(client.project_id), "scopes": ["address", "phone"],
        "is_authenticated": True,
    }


def test_request_auth_and_user(rf, oauth_client, token):
    from rest_framework.request import Request

    from oauth_cc.authentication import BearerJWTAuthentication

    client, _ = oauth_client
    request = Request(rf.get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    user, auth = BearerJWTAuthentication().authenticate(request)
    assert auth.claims["sub"] == client.client_id
    assert auth.scopes == frozenset({"address", "phone"})
    assert auth.client_id == client.client_id
    assert auth.project_id == str(client.project_id)
    assert auth.project == client.project
    assert user.is_authenticated and not user.is_anonymous and not user.is_staff
    assert user.pk == client.client_id
    assert not user.has_perm("anything")
    assert token not in repr(auth)


def test_token_from_the_token_endpoint_works(http, oauth_client):
    from tests.helpers import token_request

    client, secret = oauth_client
    access = token_request(http, client.client_id, secret, scope="address").json()
    assert get(http, "/api/address", access["access_token"]).status_code == 200
    response = get(http, "/api/phone", access["access_token"])
    assert response.status_code == 403


def test_warm_request_makes_no_query(http, token, django_assert_num_queries):
    assert get(http, "/api/address", token).status_code == 200
    with django_assert_num_queries(0):
        assert get(http, "/api/address", token).status_code == 200


def test_other_schemes_are_left_to_other_classes(http, oauth_client):
    response = http.get("/api/address", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_scheme_is_case_insensitive(http, token):
    assert http.get("/api/address", HTTP_AUTHORIZATION=f"bearer {token}").status_code == 200


# No credentials, missing scope


def test_no_credentials_gets_the_bare_challenge(http, scopes):
    response = http.get("/api/address")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error_code"] == "1024"
    assert "error" not in response.json()


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "REALM": "addresses"})
def test_realm_setting(http, scopes):
    assert http.get("/api/address")["WWW-Authenticate"] == 'Bearer realm="addresses"'


def test_insufficient_scope(http, make_client, frozen_clock):
    client, _ = make_client(scope_names=("phone",))
    response = get(http, "/api/address", mint_token(client))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", error_description="The token lacks '
        'a scope this API requires: address", scope="address"')
    assert response.json()["scope"] == "address"


def test_every_required_scope_is_needed(http, make_client, frozen_clock):
    only_address, _ = make_client(scope_names=("address",))
    both, _ = make_client(scope_names=("address", "phone"))
    assert get(http, "/api/address-and-phone", mint_token(only_address)).status_code == 403
    assert get(http, "/api/address-and-phone", mint_token(both)).status_code == 200


def test_has_scope_of(http, make_client, frozen_clock):
    phone, _ = make_client(scope_names=("phone",))
    address, _ = make_client(scope_names=("address",))
    assert get(http, "/api/phone", mint_token(phone)).status_code == 200
    response = get(http, "/api/phone", mint_token(address))
    assert response.status_code == 403
    assert 'scope="phone"' in response["WWW-Authenticate"]


def test_view_without_required_scopes_is_misconfigured(http, token):
    from oauth_cc.permissions import HasScope

    with pytest.raises(ImproperlyConfigured, match="required_scopes"):
        get(http, "/api/misconfigured", token)
    with pytest.raises(ImproperlyConfigured):
        HasScope.of()


@pytest.mark.parametrize(("scope_names", "status"), [
    (("address",), 200), (("email",), 200), (("address", "email"), 200), (("phone",), 403)])
def test_or_composition(http, make_client, frozen_clock, scope_names, status):
    client, _ = make_client(scope_names=scope_names)
    response = get(http, "/api/address-or-email", mint_token(client))
    assert response.status_code == status
    if status == 403:
        assert "insufficient_scope" in response["WWW-Authenticate"]


def test_or_composition_without_a_token(http, scopes):
    assert http.get("/api/address-or-email").status_code == 401


@pytest.mark.parametrize(("scope_names", "status"), [(("address",), 200), (("phone",), 403)])
def test_and_composition(http, make_client, frozen_clock, scope_names, status):
    client, _ = make_client(scope_names=scope_names)
    assert get(http, "/api/address-and-authenticated", mint_token(client)).status_code == status


@pytest.mark.parametrize(("scope_names", "status"), [(("address",), 200), (("email",), 403)])
def test_not_composition(http, make_client, frozen_clock, scope_names, status):
    client, _ = make_client(scope_names=scope_names)
    assert get(http, "/api/not-email", mint_token(client)).status_code == status


# Attacks on the token


def test_alg_none(http, token):
    header = {"alg": "none", "typ": "at+jwt", "kid": key_ring.signing_key().kid}
    payload = jwt.decode(token, options={"verify_signature": False})
    for forged in (f"{b64(header)}.{b64(payload)}.", f"{b64(header)}.{b64(payload)}"):
        assert_invalid_token(get(http, "/api/address", forged))


def test_hmac_signed_with_the_public_key(http, token):
    """The classic key-confusion attack: HS256 keyed with the published RSA public key."""
    public_pem = key_ring.signing_key().private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = jwt.decode(token, options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key_ring.signing_key().kid}
    import hashlib
    import hmac

    signing_input = f"{b64(header)}.{b64(payload)}"
    for key in (public_pem, public_pem.strip()):
        signature = base64.urlsafe_b64encode(
            hmac.new(key, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=")
        description = assert_invalid_token(
            get(http, "/api/address", f"{signing_input}.{signature.decode()}"))
        assert "algorithm" in description


def test_header_alg_other_than_the_keys(http, token):
    forged = forge(header={"alg": "PS256"}, algorithm="PS256")
    assert "algorithm" in assert_invalid_token(get(http, "/api/address", forged))


def test_signed_by_an_attacker_key_with_our_kid(http, token):
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    description = assert_invalid_token(get(http, "/api/address", forge(key=attacker)))
    assert "signature" in description


def test_unknown_kid(http, token):
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = forge(header={"kid": "attacker-key"}, key=attacker)
    assert "unknown key" in assert_invalid_token(get(http, "/api/address", forged))


def test_tampered_claims(http, token):
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "address phone email"
    tampered = f"{head}.{b64(claims)}.{signature}"
    assert "signature" in assert_invalid_token(get(http, "/api/address", tampered))


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+JWT-x", 7])
def test_wrong_or_missing_typ(http, token, typ):
    header = {} if typ is None else {"typ": typ}
    signing = key_ring.signing_key()
    payload = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(payload, signing.private_key, algorithm="RS256",
                        headers={"kid": signing.kid, **header})
    if typ is None:  # PyJWT adds typ: JWT unless told otherwise
        forged = jwt.encode(payload, signing.private_key, algorithm="RS256",
                            headers={"kid": signing.kid, "typ": None})
    assert "typ" in assert_invalid_token(get(http, "/api/address", forged))


def test_critical_header_extensions_are_refused(http, token):
    """RFC 7515 §4.1.11: a recipient must refuse extensions it does not understand."""
    payload = jwt.decode(token, options={"verify_signature": False})
    forged = forge(payload, header={"crit": ["urn:example:must-understand"],
                                    "urn:example:must-understand": True})
    assert "crit" in assert_invalid_token(get(http, "/api/address", forged))


def test_a_project_claim_of_non_ascii_digits_is_no_project():
    claims = {"project": "\u00b2", "client_id": "c", "jti": "j", "exp": 1}
    assert VerifiedToken(claims).project is None  # "²".isdigit() is True; int("²") fails


def test_application_at_jwt_typ_is_accepted(http, token):
    payload = jwt.decode(token, options={"verify_signature": False})
    forged = forge(payload, header={"typ": "application/at+jwt"})
    assert get(http, "/api/address", forged).status_code == 200


@pytest.mark.parametrize(("claims", "words"), [
    ({"iss": "https://evil.test"}, "issuer"),
    ({"iss": ISSUER + "/"}, "issuer"),
    ({"aud": "https://other.test"}, "audience"),
    ({"aud": ["https://other.test"]}, "audience"),
    ({"aud": 5}, "audience"),
    ({"exp": "soon"}, "exp"),
    ({"exp": True}, "exp"),
    ({"iat": None}, "iat"),
    ({"client_id": ""}, "client_id"),
    ({"jti": 12}, "jti"),
    ({"project": 1}, "project"),
    ({"scope": ["address"]}, "scope"),
    # Numbers and lengths no token of ours has, which the denylist could not store.
    ({"exp": 10**400}, "exp"),
    ({"exp": 10**12}, "exp"),
    ({"nbf": float("nan")}, "nbf"),
    ({"iat": -1}, "iat"),
    ({"jti": "j" * 65}, "jti"),
    ({"client_id": "c" * 65}, "client_id"),
])
def test_bad_claims(http, token, claims, words):
    assert words in assert_invalid_token(get(http, "/api/address", forge(claims)))


@pytest.mark.parametrize("name", ["exp", "iat", "iss", "aud", "sub", "client_id", "jti",
                                  "project"])
def test_missing_claims(http, token, name):
    assert_invalid_token(get(http, "/api/address", forge(drop=[name])))


def test_audience_in_a_list_is_accepted(http, token):
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["aud"] = ["https://other.test", ISSUER]
    assert get(http, "/api/address", forge(claims)).status_code == 200


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUDIENCE": "https://api.test"})
def test_audience_setting_is_enforced(http, oauth_client):
    client, _ = oauth_client
    assert get(http, "/api/address", mint_token(client)).status_code == 200
    claims = jwt.decode(mint_token(client), options={"verify_signature": False})
    claims["aud"] = ISSUER
    assert "audience" in assert_invalid_token(get(http, "/api/address", forge(claims)))


def test_expiry_with_leeway(http, token, frozen_clock):
    frozen_clock.set(T0 + 900 + 29)  # minted at T0 for 900 s; 30 s leeway
    assert get(http, "/api/address", token).status_code == 200
    frozen_clock.set(T0 + 900 + 30)
    assert "expired" in assert_invalid_token(get(http, "/api/address", token))


def test_not_yet_valid(http, oauth_client, token, frozen_clock):
    claims = jwt.decode(token, options={"verify_signature": False})
    early = forge({**claims, "nbf": claims["nbf"] + 31})
    assert "not valid yet" in assert_invalid_token(get(http, "/api/address", early))
    assert get(http, "/api/address", forge({**claims, "nbf": claims["nbf"] + 30})).status_code \
        == 200
    future = forge({**claims, "iat": claims["iat"] + 31})
    assert "future" in assert_invalid_token(get(http, "/api/address", future))


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "LEEWAY_SECONDS": 0})
def test_leeway_setting(http, token, frozen_clock):
    frozen_clock.set(T0 + 900)
    assert_invalid_token(get(http, "/api/address", token))


@pytest.mark.parametrize("value", [
    "Bearer", "Bearer ", "Bearer a b", "Bearer abc", "Bearer a.b", "Bearer a.b.c", "Bearer ...",
    "Bearer " + "a" * 9000, "Bearer e30.e30.e30", "Bearer W10.e30.", "Bearer bnVsbA.e30.",
    "Bearer eyJ0eXAiOiJhdCtqd3QifQ.e30.", "Bearer \u00e9\u00e9.\u00e9.\u00e9",
])
def test_malformed_tokens(http, scopes, value):
    assert_invalid_token(http.get("/api/address", HTTP_AUTHORIZATION=value))


def _segment(text):
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("header", ["[" * 5000, '{"a":' * 1200])
def test_deeply_nested_json_is_malformed_not_a_500(http, header):
    """json.loads raises RecursionError, not ValueError, past its nesting limit."""
    value = f"Bearer {_segment(header)}.e30.e30"
    assert len(value) < 8192
    assert "malformed" in assert_invalid_token(http.get("/api/address", HTTP_AUTHORIZATION=value))


def test_random_bytes_never_cause_a_500(http, token):
    rng = random.Random(1024)
    parts = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/"
    for _ in range(300):
        choice = rng.randrange(4)
        if choice == 0:
            candidate = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 200)))
        elif choice == 1:
            candidate = ".".join(p[: rng.randrange(len(p) + 1)] for p in parts)
        elif choice == 2:
            candidate = token[: rng.randrange(len(token))]
        else:
            position = rng.randrange(len(token))
            candidate = token[:position] + rng.choice(alphabet) + token[position + 1:]
        if candidate == token:
            continue
        response = get(http, "/api/address", candidate)
        assert response.status_code == 401, (candidate, response.content)


def test_token_of_another_issuer_key_set(http, token):
    """A token signed by a key this site never published, even with a real-looking kid."""
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from oauth_cc.keys import public_jwk, thumbprint

    kid = thumbprint(public_jwk(attacker.public_key()))
    assert_invalid_token(get(http, "/api/address", forge(header={"kid": kid}, key=attacker)))


# Keys


def test_unknown_kid_flood_costs_no_queries(http, token, frozen_clock,
                                            django_assert_max_num_queries):
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert get(http, "/api/address", token).status_code == 200  # warm
    assert_invalid_token(get(http, "/api/address",
                             forge(header={"kid": "first-unknown"}, key=attacker)))
    with django_assert_max_num_queries(0):
        for i in range(50):
            assert_invalid_token(get(http, "/api/address",
                                     forge(header={"kid": f"forged-{i}"}, key=attacker)))


def test_token_signed_by_a_key_rotated_in_elsewhere_is_accepted(http, oauth_client,
                                                                frozen_clock):
    client, _ = oauth_client
    get(http, "/api/address", mint_token(client))  # caches the published keys
    upcoming = SigningKey.objects.get(state="next")
    SigningKey.objects.filter(state="active").update(state="retired",
                                                    retired_at=clock.now_datetime())
    SigningKey.objects.filter(pk=upcoming.pk).update(state="active")
    frozen_clock.advance(5)  # the other process's rotation reaches this one's signing cache
    token = mint_token(client)
    assert jwt.get_unverified_header(token)["kid"] == upcoming.kid
    assert get(http, "/api/address", token).status_code == 200


def test_retired_key_still_verifies_until_pruned(http, oauth_client, frozen_clock):
    client, _ = oauth_client
    old = mint_token(client)
    SigningKey.objects.rotate()
    assert get(http, "/api/address", old).status_code == 200
    assert get(http, "/api/address", mint_token(client)).status_code == 200


def test_deleted_key_stops_verifying_within_state_ttl(http, oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    assert get(http, "/api/address", token).status_code == 200
    SigningKey.objects.filter(kid=jwt.get_unverified_header(token)["kid"]).delete()
    assert_invalid_token(get(http, "/api/address", token))


# Client state


def test_disabled_client_is_refused_at_once(http, oauth_client, token):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    client.is_active = False
    client.save()
    assert "disabled" in assert_invalid_token(get(http, "/api/address", token))
    client.is_active = True
    client.save()
    assert get(http, "/api/address", token).status_code == 200


def test_disabled_project_is_refused_at_once(http, oauth_client, token):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    project = client.project
    project.is_active = False
    project.save()
    assert "project is disabled" in assert_invalid_token(get(http, "/api/address", token))


def test_change_in_another_process_applies_within_state_ttl(http, oauth_client, token,
                                                            frozen_clock):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    Client.objects.filter(pk=client.pk).update(is_active=False)  # no signal: "elsewhere"
    frozen_clock.advance(4.9)
    assert get(http, "/api/address", token).status_code == 200
    frozen_clock.advance(0.1)
    assert_invalid_token(get(http, "/api/address", token))


def test_a_wall_clock_stepped_back_does_not_keep_stale_state(http, oauth_client, token,
                                                              frozen_clock):
    """STATE_TTL_SECONDS is measured on a monotonic clock: the wall clock stepping back (NTP,
    an operator) must not keep a disabled client's tokens working for that long."""
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    Client.objects.filter(pk=client.pk).update(is_active=False)  # elsewhere
    frozen_clock.set(T0 - 20)  # the wall clock steps back 20 s (the token stays valid)
    frozen_clock.advance(5)
    assert "disabled" in assert_invalid_token(get(http, "/api/address", token))


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "STATE_TTL_SECONDS": 1})
def test_state_ttl_setting(http, oauth_client, token, frozen_clock):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    Project.objects.filter(pk=client.project_id).update(is_active=False)
    frozen_clock.advance(1)
    assert_invalid_token(get(http, "/api/address", token))


def test_deleted_client_is_1025(http, oauth_client, token):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    client.delete()
    description = assert_invalid_token(get(http, "/api/address", token), code="1025")
    assert "no longer exists" in description


def test_deleted_project_is_1025(http, oauth_client, token):
    client, _ = oauth_client
    client.project.delete()
    assert_invalid_token(get(http, "/api/address", token), code="1025")


def test_a_client_moved_to_another_project_loses_the_old_projects_tokens(http, oauth_client,
                                                                         token):
    """The token names its project: once the client is elsewhere, that project is not found,
    whether the old project lives on, is disabled or is deleted."""
    client, _ = oauth_client
    old_project = client.project
    client.project = Project.objects.create(name="another")
    client.save()
    assert "no longer belongs" in assert_invalid_token(get(http, "/api/address", token),
                                                       code="1025")
    old_project.is_active = False
    old_project.save()
    assert_invalid_token(get(http, "/api/address", token), code="1025")
    old_project.delete()
    assert_invalid_token(get(http, "/api/address", token), code="1025")
    assert get(http, "/api/address", mint_token(client)).status_code == 200


def test_a_client_read_that_raced_a_local_change_is_not_kept(http, oauth_client, token,
                                                              monkeypatch):
    """A read that began before this process changed the client (another thread's request)
    must not be stored over the change for a whole STATE_TTL_SECONDS."""
    client, _ = oauth_client
    read = state._read_one

    def read_then_disable(client_id):
        before = read(client_id)
        client.is_active = False
        client.save()  # the change, committed while the read's answer is in flight
        return before

    monkeypatch.setattr(state, "_read_one", read_then_disable)
    assert get(http, "/api/address", token).status_code == 200  # answered from its read
    monkeypatch.setattr(state, "_read_one", read)
    assert "disabled" in assert_invalid_token(get(http, "/api/address", token))


def test_a_move_elsewhere_applies_within_state_ttl(http, oauth_client, token, frozen_clock):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    Client.objects.filter(pk=client.pk).update(project=Project.objects.create(name="another"))
    frozen_clock.advance(4.9)
    assert get(http, "/api/address", token).status_code == 200
    frozen_clock.advance(0.1)
    assert_invalid_token(get(http, "/api/address", token), code="1025")


def test_deleted_elsewhere_is_1025_within_state_ttl(http, oauth_client, token, frozen_clock):
    client, _ = oauth_client
    assert get(http, "/api/address", token).status_code == 200
    # Delete without signals, as another process would be seen from this one.
    Client.scopes.through.objects.filter(client=client)._raw_delete(Client.objects.db)
    Client.objects.filter(pk=client.pk)._raw_delete(Client.objects.db)
    assert get(http, "/api/address", token).status_code == 200
    frozen_clock.advance(5)
    assert_invalid_token(get(http, "/api/address", token), code="1025")
