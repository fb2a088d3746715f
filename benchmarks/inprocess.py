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
    auth, calls = bearer_auth()
    results.update(auth)
    # Measured in turns, round by round: the token endpoint against the raw sign; the
    # authentication, warm and cold, against the raw verify (and PyJWT decode); the view with
    # the classes against the same view without them.
    paired = harness.paired(vs_sign={"token": token_request, "pyjwt_encode": pyjwt_encode},
                            vs_decode={"auth": calls["warm"]},
                            vs_verify={"auth_cold": calls["cold"]},
                            others={"view_open": calls["view_open"],
                                    "view_protected": calls["view_protected"]},
                            ratios={"auth_warm_per_verify": ("auth", "raw_verify"),
                                    "auth_cold_per_decode": ("auth_cold", "pyjwt_decode"),
                                    "view_protected_per_open": ("view_protected", "view_open")},
                            differences={"view_overhead_us": ("view_protected", "view_open")},
                            seconds=seconds * 2, rounds=11 if args.quick else 41)
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
