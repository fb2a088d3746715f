"""In-process benchmark: crypto limits, the token endpoint, bearer authentication.

    python -m benchmarks.inprocess [--quick] [--json PATH]

Runs against the demo project (its full middleware) on a fresh SQLite file, or on
PostgreSQL when DATABASE_URL is set. Every figure is measured in this one run and reported
beside the limit it is compared with.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def per_call_us(fn: Callable[[], Any], *, seconds: float, repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean time per call in a ~``seconds`` loop, in µs."""
    fn()
    calls = 1
    started = time.perf_counter()
    while time.perf_counter() - started < seconds / repeats / 4:
        fn()
        calls += 1
    samples = []
    for _ in range(repeats):
        begin = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - begin) / calls * 1e6)
    return statistics.median(samples)


def latencies_us(fn: Callable[[], Any], count: int) -> list[float]:
    out = []
    for _ in range(count):
        begin = time.perf_counter()
        fn()
        out.append((time.perf_counter() - begin) * 1e6)
    return sorted(out)


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def setup_django() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")
    if not os.environ.get("DATABASE_URL"):
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("OAUTH_CC_ISSUER", "http://127.0.0.1:8000")
    os.environ["DJANGO_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return str(connection.vendor)


def crypto_limits(seconds: float) -> dict[str, float]:
    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    message = b"x" * 400
    results: dict[str, float] = {}
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_public = rsa_key.public_key()
    signature = rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    results["raw_rs256_sign_us"] = per_call_us(
        lambda: rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256()), seconds=seconds)
    results["raw_rs256_sign_per_s"] = 1e6 / results["raw_rs256_sign_us"]
    results["raw_rs256_verify_us"] = per_call_us(
        lambda: rsa_public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256()),
        seconds=seconds)

    claims = {"iss": "https://issuer.test", "aud": "https://issuer.test", "sub": "c",
              "exp": int(time.time()) + 3600, "iat": int(time.time()), "scope": "address"}
    for name, private, algorithm in [
        ("rs256", rsa_key, "RS256"),
        ("es256", ec.generate_private_key(ec.SECP256R1()), "ES256"),
        ("eddsa", ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ]:
        token = jwt.encode(claims, private, algorithm=algorithm)
        public = private.public_key()
        results[f"pyjwt_encode_{name}_us"] = per_call_us(
            lambda p=private, a=algorithm: jwt.encode(claims, p, algorithm=a), seconds=seconds)
        results[f"pyjwt_decode_{name}_us"] = per_call_us(
            lambda t=token, k=public, a=algorithm: jwt.decode(
                t, k, algorithms=[a], audience="https://issuer.test"), seconds=seconds)
    results["pyjwt_decode_us"] = results["pyjwt_decode_rs256_us"]
    return results


def wsgi_post(app: Any, path: str, body: bytes) -> tuple[str, bytes]:
    """One request through Django's WSGI handler (the whole middleware stack), no sockets."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
    }
    statuses: list[str] = []
    content = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], content


def token_endpoint(seconds: float) -> dict[str, float]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from oauth_cc.models import Client, Scope

    for name in ("address", "phone", "email"):
        Scope.objects.get_or_create(name=name)
    client, secret = Client.objects.create_client("bench", scopes=["address", "phone"])
    app = WSGIHandler()
    body = (f"grant_type=client_credentials&client_id={client.client_id}"
            f"&client_secret={secret}&scope=address").encode()

    def request() -> None:
        status, content = wsgi_post(app, "/oauth/token", body)
        assert status.startswith("200"), content

    request()
    us = per_call_us(request, seconds=seconds)
    lat = latencies_us(request, 300)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            request()
    return {"token_us": us, "token_per_s": 1e6 / us, "token_p50_us": percentile(lat, 0.5),
            "token_p99_us": percentile(lat, 0.99), "token_queries": len(queries) / 20}


def bearer_auth(seconds: float) -> dict[str, float]:
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from oauth_cc.authentication import BearerJWTAuthentication
    from oauth_cc.permissions import HasScope
    from oauth_cc.testing import mint_token

    token = mint_token(scopes=["address"])
    factory = RequestFactory()
    django_request = factory.get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    request = Request(django_request)
    authentication, permission = BearerJWTAuthentication(), HasScope()

    class View(APIView):
        required_scopes = ["address"]

    view = View()

    def authenticate() -> None:
        user, auth = authentication.authenticate(request)  # type: ignore[misc]
        request.user, request.auth = user, auth
        permission.has_permission(request, view)

    authenticate()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            authenticate()
    results = {"auth_overhead_us": per_call_us(authenticate, seconds=seconds),
               "auth_queries": len(queries) / 50}

    class Protected(APIView):
        authentication_classes = [BearerJWTAuthentication]
        permission_classes = [HasScope]
        required_scopes = ["address"]

        def get(self, request: Request) -> Response:
            return Response({"ok": True})

    class Open(APIView):
        authentication_classes: list[type] = []
        permission_classes = [AllowAny]

        def get(self, request: Request) -> Response:
            return Response({"ok": True})

    protected, open_view = Protected.as_view(), Open.as_view()

    def call(view_fn: Callable[..., Any]) -> Callable[[], None]:
        def run() -> None:
            response = view_fn(factory.get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}"))
            assert response.status_code == 200
        return run

    results["view_protected_us"] = per_call_us(call(protected), seconds=seconds)
    results["view_open_us"] = per_call_us(call(open_view), seconds=seconds)
    results["view_overhead_us"] = results["view_protected_us"] - results["view_open_us"]
    return results


def report(results: dict[str, Any]) -> str:
    r = results
    lines = [
        f"machine: {r['machine']}   db: {r['db']}",
        "",
        f"{'figure':<40}{'value':>14}   ratio",
        f"{'raw RS256 sign (cryptography)':<40}{r['raw_rs256_sign_per_s']:>12.0f}/s",
        f"{'raw RS256 verify (cryptography)':<40}{r['raw_rs256_verify_us']:>12.1f}µs",
        f"{'PyJWT encode RS256 / ES256 / EdDSA':<40}{r['pyjwt_encode_rs256_us']:>12.1f}µs"
        f"   {r['pyjwt_encode_es256_us']:.1f} / {r['pyjwt_encode_eddsa_us']:.1f} µs",
        f"{'PyJWT decode RS256 / ES256 / EdDSA':<40}{r['pyjwt_decode_rs256_us']:>12.1f}µs"
        f"   {r['pyjwt_decode_es256_us']:.1f} / {r['pyjwt_decode_eddsa_us']:.1f} µs",
        f"{'token endpoint (full middleware)':<40}{r['token_per_s']:>12.0f}/s"
        f"   {r['token_per_s'] / r['raw_rs256_sign_per_s']:.2f} x raw RS256 sign rate",
        f"{'  p50 / p99':<40}{r['token_p50_us']:>12.0f}µs   p99 {r['token_p99_us']:.0f} µs",
        f"{'  queries per token request':<40}{r['token_queries']:>14.2f}",
        f"{'bearer auth + HasScope':<40}{r['auth_overhead_us']:>12.1f}µs"
        f"   {r['auth_overhead_us'] / r['pyjwt_decode_us']:.2f} x one PyJWT RS256 decode",
        f"{'  queries per authenticated request':<40}{r['auth_queries']:>14.2f}",
        f"{'DRF view with / without them':<40}{r['view_protected_us']:>12.1f}µs"
        f"   without {r['view_open_us']:.1f} µs: +{r['view_overhead_us']:.1f} µs",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter loops")
    parser.add_argument("--json", default=str(ROOT / "benchmarks/results/inprocess.json"))
    args = parser.parse_args()
    seconds = 0.5 if args.quick else 2.0
    db = setup_django()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python "
                   f"{platform.python_version()}, {platform.platform()}",
        "db": db,
    }
    results.update(crypto_limits(seconds))
    results.update(token_endpoint(seconds))
    results.update(bearer_auth(seconds))
    print(report(results))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
