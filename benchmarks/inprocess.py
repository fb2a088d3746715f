"""oauth_cc in-process: the crypto limits, the token endpoint, bearer authentication.

    python -m benchmarks.inprocess [--quick] --json PATH

Runs against the demo project (its settings and full middleware) on a fresh SQLite file, or
on PostgreSQL when DATABASE_URL is set. The headline figures (the token endpoint, our
authentication) are measured in turns with the RS256 limits (raw sign and verify, PyJWT
encode and decode), round by round, in this one process (``harness.paired``); the ES256 and
EdDSA limits each on their own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from benchmarks import drf, harness


def crypto_limits(seconds: float) -> tuple[dict[str, float], Callable[[], Any]]:
    """Raw ``cryptography`` and PyJWT figures for ES256 and EdDSA, and the PyJWT RS256 encode
    callable (RS256 is measured in turns with our figures, see ``main``)."""
    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    message = b"x" * 400  # about the signing input of one of our access tokens
    results: dict[str, float] = {}
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    es_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    es_signature = es_key.sign(message, ec.ECDSA(hashes.SHA256()))
    ed_signature = ed_key.sign(message)
    es_public, ed_public = es_key.public_key(), ed_key.public_key()
    raw = {
        "raw_es256_sign_us": lambda: es_key.sign(message, ec.ECDSA(hashes.SHA256())),
        "raw_es256_verify_us": lambda: es_public.verify(
            es_signature, message, ec.ECDSA(hashes.SHA256())),
        "raw_eddsa_sign_us": lambda: ed_key.sign(message),
        "raw_eddsa_verify_us": lambda: ed_public.verify(ed_signature, message),
    }
    for name, fn in raw.items():
        results[name] = harness.per_call_us(fn, seconds=seconds)

    claims = {"iss": "https://issuer.test", "aud": "https://issuer.test", "sub": "c",
              "exp": int(time.time()) + 3600, "iat": int(time.time()), "scope": "address"}
    for name, private, algorithm in [("es256", es_key, "ES256"), ("eddsa", ed_key, "EdDSA")]:
        token = jwt.encode(claims, private, algorithm=algorithm)
        public = private.public_key()
        results[f"pyjwt_encode_{name}_us"] = harness.per_call_us(
            lambda p=private, a=algorithm: jwt.encode(claims, p, algorithm=a), seconds=seconds)
        results[f"pyjwt_decode_{name}_us"] = harness.per_call_us(
            lambda t=token, k=public, a=algorithm: jwt.decode(
                t, k, algorithms=[a], audience="https://issuer.test"), seconds=seconds)
    return results, lambda: jwt.encode(claims, rsa_key, algorithm="RS256")


def select_one() -> None:
    """One database round trip: what the engine adds to each query, whatever it asks."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def token_endpoint(samples: int) -> tuple[dict[str, float], Callable[[], None]]:
    """Our ``POST /oauth/token`` through the WSGI handler: latencies, queries, the callable."""
    from django.core.handlers.wsgi import WSGIHandler

    from oauth_cc.models import Client, Scope

    for name in ("address", "phone", "email"):
        Scope.objects.get_or_create(name=name)
    # Unique names: on PostgreSQL the database outlives the run.
    client, secret = Client.objects.create_client(f"bench token {secrets.token_hex(4)}",
                                                  scopes=["address", "phone"])
    request = harness.token_request(WSGIHandler(), client.client_id, secret)
    for _ in range(20):  # warm: first key created, client state and last_used written
        request()
    lat = harness.latencies_us(request, samples)
    queries = harness.queries_per_call(request, 100)
    return {"db_select1_us": harness.per_call_us(select_one, seconds=0.3),
            "token_query_us": harness.per_call_us(
                lambda: Client.objects.record(client.client_id), seconds=0.3),
            "token_p50_us": harness.percentile(lat, 0.5),
            "token_p99_us": harness.percentile(lat, 0.99),
            "token_queries": queries["median"], "token_queries_mean": queries["mean"],
            "token_queries_max": queries["max"]}, request


# Each assertion is accepted once (its jti is remembered in the cache): the benchmark signs a
# pool of them beforehand, outside the timing, and forgets their jti when it starts the pool
# over (one cache.clear() per pool, a few µs over hundreds of requests).
ASSERTION_POOL = 256


def private_key_jwt_token_endpoint() -> tuple[dict[str, float], Callable[[], None]]:
    """``POST /oauth/token`` by a ``private_key_jwt`` client (CONTRACT §11) with an RS256
    assertion, through the WSGI handler as ``token_endpoint``: its queries and the callable.

    The server verifies one RS256 assertion and signs one RS256 token per request: the limit
    it is compared with is one raw sign plus one raw verify.
    """
    from urllib.parse import urlencode

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler

    from oauth_cc.client_assertion import ASSERTION_TYPE
    from oauth_cc.models import Client

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    client = Client.objects.create_secretless_client(
        f"bench pkjwt {secrets.token_hex(4)}", scopes=["address"],
        jwks={"keys": [{**jwk, "kid": "bench", "use": "sig", "alg": "RS256"}]})
    audience, now = f"{harness.ISSUER}/oauth/token", int(time.time())
    bodies = [urlencode({
        "grant_type": "client_credentials", "scope": "address",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt.encode(
            {"iss": client.client_id, "sub": client.client_id, "aud": audience, "iat": now,
             "exp": now + 1800, "jti": secrets.token_urlsafe(16)},
            key, algorithm="RS256", headers={"kid": "bench"}),
    }).encode() for _ in range(ASSERTION_POOL)]
    app, position = WSGIHandler(), 0

    def request() -> None:
        nonlocal position
        if position == len(bodies):
            cache.clear()  # the pool's jti were all used: start it over
            position = 0
        body, position = bodies[position], position + 1
        status, content = harness.wsgi_call(app, harness.environ("POST", "/oauth/token",
                                                                 body=body))
        assert status.startswith("200"), content

    for _ in range(20):  # warm: the client's record and parsed keys cached
        request()
    queries = harness.queries_per_call(request, 100)
    return {"pkjwt_token_queries": queries["median"],
            "pkjwt_token_queries_mean": queries["mean"]}, request


DPOP_PROOF_POOL = 512


def dpop_auth() -> tuple[dict[str, float], dict[str, Callable[[], None]]]:
    """``BearerJWTAuthentication.authenticate()`` + ``HasScope`` of a DPoP-bound token (the
    verified-token cache warm) with a new ES256 proof each call (CONTRACT §12), and one raw
    ES256 verify, the limit it is compared with beside the raw RS256 verify.

    Proofs are signed beforehand (a pool, outside the timing); each is accepted once, so the
    pool's jti are forgotten (``cache.clear()``) when it starts over. The proofs' ``iat``
    window is widened to an hour in this process only, so that a pool made at the start
    stays valid for the run: the checks cost the same whatever the window.
    """
    import uuid

    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.conf import settings
    from django.core.cache import cache
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from oauth_cc import dpop
    from oauth_cc.authentication import BearerJWTAuthentication
    from oauth_cc.models import Client
    from oauth_cc.permissions import HasScope
    from oauth_cc.settings import oauth_cc_settings
    from oauth_cc.testing import mint_token

    settings.OAUTH_CC = {**settings.OAUTH_CC, "DPOP_PROOF_MAX_AGE_SECONDS": 3600}
    oauth_cc_settings.reload()
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    client, _ = Client.objects.create_client(f"bench dpop {secrets.token_hex(4)}",
                                             scopes=["address"], require_dpop=True)
    token = mint_token(client, ["address"], expires_in=3600,
                       jkt=dpop.jwk_thumbprint(key.public_key()))
    url, now = "http://127.0.0.1:8000/api/x", int(time.time())
    proofs = [jwt.encode({"htm": "GET", "htu": url, "iat": now, "jti": uuid.uuid4().hex,
                          "ath": dpop.access_token_hash(token)},
                         key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})
              for _ in range(DPOP_PROOF_POOL)]
    request = Request(RequestFactory().get("/api/x", HTTP_HOST="127.0.0.1:8000",
                                           HTTP_AUTHORIZATION=f"DPoP {token}"))
    meta = request._request.META

    class View(APIView):
        required_scopes = ["address"]

    view, authentication, permission, position = View(), BearerJWTAuthentication(), \
        HasScope(), 0

    def call() -> None:
        nonlocal position
        if position == len(proofs):
            cache.clear()  # every proof of the pool was used: start it over
            position = 0
        meta["HTTP_DPOP"], position = proofs[position], position + 1
        result = authentication.authenticate(request)
        assert result is not None, "the DPoP request was not accepted"
        request.user, request.auth = result
        assert permission.has_permission(request, view)

    for _ in range(20):
        call()
    queries = harness.queries_per_call(call, 100)
    message = b"x" * 400
    es_key = ec.generate_private_key(ec.SECP256R1())
    signature, public = es_key.sign(message, ec.ECDSA(hashes.SHA256())), es_key.public_key()
    return {"dpop_auth_queries": queries["mean"]}, {
        "dpop_auth": call,
        "raw_es256_verify": lambda: public.verify(signature, message,
                                                  ec.ECDSA(hashes.SHA256()))}


def quota_token_endpoint() -> tuple[Callable[[], None], Callable[[], None]]:
    """``token_endpoint``'s request for a client under a token quota it never reaches
    (CONTRACT §14), and the same request with the quota taken off this worker's copy of the
    client's record: the quota's cost is the one's time over the other's, for one client
    (its keys, its record, its log line), so that nothing else differs."""
    import dataclasses

    from django.core.handlers.wsgi import WSGIHandler

    from oauth_cc import state
    from oauth_cc.models import Client

    client, secret = Client.objects.create_client(
        f"bench quota {secrets.token_hex(4)}", scopes=["address", "phone"],
        tokens_per_hour=10**9)
    request = harness.token_request(WSGIHandler(), client.client_id, secret)
    for _ in range(20):
        request()
    with_quota = state.clients.get(client.client_id, remember_missing=False)
    assert with_quota is not None and with_quota.token_quota == 10**9
    without_quota = dataclasses.replace(with_quota, tokens_per_hour=None)
    assert without_quota.token_quota is None, "the site sets a quota of its own"
    records = state.clients.records

    def quota_request() -> None:
        records.put(client.client_id, with_quota)
        request()

    def plain_request() -> None:
        records.put(client.client_id, without_quota)
        request()

    return quota_request, plain_request


# The cold-cache figure presents more distinct tokens than the verified-token cache holds, so
# that each call verifies its token as a new one. At the library's limit (10,000) that would
# mean minting 10,000+ tokens per run; the limit is lowered in this process instead. The cache
# is a hash map with LRU eviction, whose cost per call does not depend on its size.
COLD_CACHE_LIMIT = 256
COLD_TOKENS = 2 * COLD_CACHE_LIMIT


def verifications(fn: Callable[[], None], calls: int) -> int:
    """How many of ``calls`` calls of ``fn`` verified a signature (missed the token cache)."""
    from oauth_cc import acceptance

    real, count = acceptance.verify_with_key, 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        return real(*args, **kwargs)

    acceptance.verify_with_key = counting
    try:
        for _ in range(calls):
            fn()
    finally:
        acceptance.verify_with_key = real
    return count


def bearer_auth() -> tuple[dict[str, float], dict[str, Callable[[], None]]]:
    """``BearerJWTAuthentication.authenticate()`` + ``HasScope.has_permission()`` with a reused
    token (the verified-token cache warm) and with a new token on every call (cold), their
    queries, and one DRF view with and without the two classes; returns the figures and the
    callables, to be measured in turns (``main``)."""
    from oauth_cc import acceptance
    from oauth_cc.authentication import BearerJWTAuthentication
    from oauth_cc.models import Client
    from oauth_cc.permissions import HasScope
    from oauth_cc.testing import mint_token

    client, _ = Client.objects.create_client(f"bench auth {secrets.token_hex(4)}",
                                             scopes=["address"])
    token = mint_token(client, ["address"])
    warm = drf.prepared_auth(BearerJWTAuthentication(), HasScope(), token)
    for _ in range(20):
        warm()
    queries = harness.queries_per_call(warm, 100)
    results = {"auth_queries": queries["mean"], "auth_queries_max": queries["max"]}

    # The map was built at import with the library's limit: lower the limit it reads.
    acceptance.VERIFIED_TOKENS_LIMIT = COLD_CACHE_LIMIT
    acceptance._verified.limit = COLD_CACHE_LIMIT  # this process only
    # An hour (MAX_EXPIRES_IN): none expires during the run.
    cold = drf.prepared_auth(BearerJWTAuthentication(), HasScope(),
                             [mint_token(client, ["address"], expires_in=3600)
                              for _ in range(COLD_TOKENS)])
    for _ in range(COLD_TOKENS):  # one full cycle: the cache now holds the last 256
        cold()
    queries = harness.queries_per_call(cold, COLD_TOKENS)
    results.update({"auth_cold_queries": queries["mean"], "auth_cold_queries_max": queries["max"],
                    "auth_cold_tokens": COLD_TOKENS, "auth_cold_cache_limit": COLD_CACHE_LIMIT,
                    # Proof of what each figure measures: verifications per call.
                    "auth_cold_verified_share": verifications(cold, COLD_TOKENS) / COLD_TOKENS,
                    "auth_warm_verified_share": verifications(warm, COLD_TOKENS) / COLD_TOKENS})
    protected, open_view = drf.view_pair([BearerJWTAuthentication], [HasScope], token)
    return results, {"warm": warm, "cold": cold, "view_protected": protected,
                     "view_open": open_view}


def main() -> None:
    args = harness.arguments(__doc__)
    seconds = 0.3 if args.quick else 2.0
    db = harness.setup_django("demo_project.settings", "oauth_cc")
    results: dict[str, Any] = {"machine": harness.machine(), "db": db}
    limits, pyjwt_encode = crypto_limits(seconds / 2)
    results.update(limits)
    token, token_request = token_endpoint(200 if args.quick else 1000)
    results.update(token)
    pkjwt, pkjwt_request = private_key_jwt_token_endpoint()
    results.update(pkjwt)
    quota_request, plain_request = quota_token_endpoint()
    auth, calls = bearer_auth()
    results.update(auth)
    dpop_figures, dpop_calls = dpop_auth()
    results.update(dpop_figures)
    # Measured in turns, round by round: the token endpoint against the raw sign; the
    # authentication, warm and cold, against the raw verify (and PyJWT decode); the view with
    # the classes against the same view without them.
    paired = harness.paired(vs_sign={"token": token_request, "pyjwt_encode": pyjwt_encode,
                                     "token_quota": quota_request},
                            vs_decode={"auth": calls["warm"]},
                            vs_verify={"auth_cold": calls["cold"]},
                            others={"view_open": calls["view_open"],
                                    "view_protected": calls["view_protected"],
                                    "pkjwt_token": pkjwt_request, **dpop_calls},
                            ratios={"auth_warm_per_verify": ("auth", "raw_verify"),
                                    "auth_cold_per_decode": ("auth_cold", "pyjwt_decode"),
                                    "view_protected_per_open": ("view_protected", "view_open")},
                            differences={"view_overhead_us": ("view_protected", "view_open")},
                            rates={"pkjwt_per_sign_verify": ("pkjwt_token",
                                                             ("raw_sign", "raw_verify")),
                                   # a cost, not a rate: the limits over dpop_auth, inverted
                                   "dpop_verifies_per_auth": ("dpop_auth", (
                                       "raw_es256_verify", "raw_verify"))},
                            seconds=seconds * 2, rounds=11 if args.quick else 41)
    # The quota's cost, a percent or two of a request: one client with and without its
    # quota, call by call (see alternating_ratio).
    paired["token_quota_per_token"] = harness.alternating_ratio(
        plain_request, quota_request, seconds=seconds * 2)
    results["paired"] = paired
    results.update({
        "raw_rs256_sign_us": paired["raw_sign_us"],
        "raw_rs256_sign_per_s": 1e6 / paired["raw_sign_us"],
        "raw_rs256_verify_us": paired["raw_verify_us"],
        "pyjwt_decode_rs256_us": paired["pyjwt_decode_us"],
        "pyjwt_encode_rs256_us": paired["pyjwt_encode_us"],
        "pyjwt_decode_us": paired["pyjwt_decode_us"],
        "token_us": paired["token_us"], "token_per_s": 1e6 / paired["token_us"],
        # The reused token of this figure hits the verified-token cache: it is auth_warm_us.
        "auth_overhead_us": paired["auth_us"],
        "auth_warm_us": paired["auth_us"],
        "auth_cold_us": paired["auth_cold_us"],
        "view_open_us": paired["view_open_us"],
        "view_protected_us": paired["view_protected_us"],
        "view_overhead_us": paired["view_overhead_us"],
        "pkjwt_token_us": paired["pkjwt_token_us"],
        "pkjwt_token_per_s": 1e6 / paired["pkjwt_token_us"],
        "dpop_auth_us": paired["dpop_auth_us"],
        "raw_es256_verify_us": paired["raw_es256_verify_us"],
        "dpop_auth_per_verifies": 1 / paired["dpop_verifies_per_auth"],
        "token_quota_us": paired["token_quota_us"],
        "token_quota_overhead": paired["token_quota_per_token"] - 1,
    })
    harness.write_json(args.json, results)
    print(f"oauth_cc ({db}): token {results['token_per_s']:.0f}/s "
          f"({paired['token_per_sign']:.2f} x sign), auth {results['auth_overhead_us']:.1f} µs "
          f"({paired['auth_per_decode']:.2f} x decode), warm {results['auth_warm_us']:.1f} µs "
          f"({paired['auth_warm_per_verify']:.2f} x verify), cold {results['auth_cold_us']:.1f} "
          f"µs ({paired['auth_cold_per_verify']:.2f} x verify), view "
          f"{paired['view_protected_per_open']:.2f} x open, cpu share {paired['cpu_share']:.2f}")


if __name__ == "__main__":
    main()
