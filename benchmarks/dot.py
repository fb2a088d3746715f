"""django-oauth-toolkit in-process: its token endpoint and its DRF authentication.

    python -m benchmarks.dot [--quick] --json PATH

Settings ``benchmarks.peers.dot_settings``: the demo's, with ``oauth2_provider`` added. The
token endpoint is ``POST /o/token/`` (client credentials grant, client_secret_post, as our
run sends), through Django's WSGI handler with the demo's full middleware, for two
applications: DOT's default (secret hashed with Django's password hasher) and one with
``hash_client_secret=False``. DOT writes an ``AccessToken`` row per token request: that is
its design (opaque tokens looked up on every API call), and it is measured as it is.
"""

from __future__ import annotations

import secrets
import statistics
import time
from typing import Any

from benchmarks import drf, harness

HASHED_REQUESTS = 5  # each costs a PBKDF2 hash of ~1M iterations: a few tenths of a second


def application(name: str, *, hashed: bool) -> tuple[str, str]:
    """A confidential client-credentials application; returns ``(client_id, secret)``."""
    from oauth2_provider.models import Application

    secret = secrets.token_urlsafe(32)
    app = Application(name=name, client_type=Application.CLIENT_CONFIDENTIAL,
                      authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                      client_secret=secret, hash_client_secret=hashed)
    app.save()
    return app.client_id, secret


def token_request(client_id: str, secret: str) -> Any:
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    body = (f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
            "&scope=address").encode()

    def request() -> str:
        status, content = harness.wsgi_call(app, harness.environ("POST", "/o/token/",
                                                                 body=body))
        assert status.startswith("200"), content
        return content.decode()

    return request


def main() -> None:
    import json

    args = harness.arguments(__doc__)
    seconds = 0.3 if args.quick else 2.0
    db = harness.setup_django("benchmarks.peers.dot_settings", "dot")
    from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope

    results: dict[str, Any] = {"machine": harness.machine(), "db": db}

    # Hashing disabled: DOT's fastest token endpoint.
    unhashed = token_request(*application("bench unhashed", hashed=False))
    for _ in range(20):
        unhashed()
    lat = harness.latencies_us(unhashed, 200 if args.quick else 1000)
    queries = harness.queries_per_call(unhashed, 50)
    results.update({
        "dot_token_p50_us_unhashed": harness.percentile(lat, 0.5),
        "dot_token_p99_us_unhashed": harness.percentile(lat, 0.99),
        "dot_token_queries_unhashed": queries["median"],
    })

    # DOT's default: the secret is checked with Django's password hasher on every request.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hashed = token_request(*application("bench hashed", hashed=True))
    hashed()
    reference = harness.rs256_reference()
    sign_calls = harness.calibrate(reference["raw_sign"], 0.1)
    count = 3 if args.quick else HASHED_REQUESTS
    timings, ratios = [], []
    with CaptureQueriesContext(connection) as captured:
        for _ in range(count):  # in turns with the raw sign rate, as harness.paired does
            begin = time.perf_counter()
            for _ in range(sign_calls):
                reference["raw_sign"]()
            sign_us = (time.perf_counter() - begin) / sign_calls * 1e6
            begin = time.perf_counter()
            hashed()
            timings.append((time.perf_counter() - begin) * 1e6)
            ratios.append(sign_us / timings[-1])
    results.update({
        "dot_token_us_hashed": statistics.median(timings),
        "dot_token_per_s_hashed": 1e6 / statistics.median(timings),
        "dot_token_requests_hashed": count,
        "dot_token_queries_hashed": len(captured) / count,
        "dot_token_hashed_per_sign": statistics.median(ratios),
    })

    # OAuth2Authentication + TokenHasScope on a prepared request, with a token from /o/token/.
    token = json.loads(unhashed())["access_token"]
    authenticate = drf.prepared_auth(OAuth2Authentication(), TokenHasScope(), token)
    for _ in range(20):
        authenticate()
    queries = harness.queries_per_call(authenticate, 50)
    results["dot_auth_queries"] = queries["mean"]
    view = drf.view_overhead([OAuth2Authentication], [TokenHasScope], token, seconds=seconds)
    results.update({f"dot_{name}": value for name, value in view.items()})

    paired = harness.paired(vs_sign={"dot_token_unhashed": unhashed},
                            vs_decode={"dot_auth": authenticate},
                            seconds=seconds * 2, rounds=11 if args.quick else 41)
    paired["dot_token_hashed_per_sign"] = results.pop("dot_token_hashed_per_sign")
    results["paired"] = paired
    results.update({
        "dot_token_us_unhashed": paired["dot_token_unhashed_us"],
        "dot_token_per_s_unhashed": 1e6 / paired["dot_token_unhashed_us"],
        "dot_auth_us": paired["dot_auth_us"],
    })
    harness.write_json(args.json, results)
    print(f"DOT ({db}): token {results['dot_token_per_s_hashed']:.1f}/s hashed, "
          f"{results['dot_token_per_s_unhashed']:.0f}/s unhashed, "
          f"auth {results['dot_auth_us']:.1f} µs, cpu share {paired['cpu_share']:.2f}")


if __name__ == "__main__":
    main()
