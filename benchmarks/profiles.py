"""cProfile of the token endpoint and of the authentication path, summarised.

    python -m benchmarks.profiles [--requests 2000] [--top 12] [--json PATH]

Profiles oauth_cc in the demo project (full middleware, fresh SQLite, or ``DATABASE_URL``):
``POST /oauth/token`` through the WSGI handler; ``BearerJWTAuthentication`` + ``HasScope`` on
a prepared request with a reused token (the verified-token cache warm) and with a new token
each call (cold, as in ``benchmarks.inprocess``); the DRF view with the two classes and
without them. Own time is grouped by where the code lives (the
crypto in ``cryptography``'s Rust/OpenSSL, PyJWT, oauth_cc, Django, DRF, the database
driver, logging, ...), printed as Markdown, with the oauth_cc functions that cost the most.

cProfile adds a fixed cost to every Python call, so Python-heavy groups look larger than
they are; ``crypto share`` is therefore also given without the profiler: the RS256
signature (or verification) measured in turns with the whole path (``harness.paired``), and
the authentication path is also timed piece by piece, each piece called on its own, in turns
with the raw RS256 verification.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks import drf, harness

GROUPS = [  # (group, test on "file:function"), first match wins
    ("crypto: cryptography (Rust/OpenSSL)", lambda k: "cryptography" in k
        or "_rust" in k or "openssl" in k),
    ("database driver (sqlite3/psycopg)", lambda k: "sqlite3" in k or "psycopg" in k
        or "SQLiteCursorWrapper" in k),
    ("PyJWT", lambda k: "/jwt/" in k),
    ("oauth_cc", lambda k: "/oauth_cc/" in k),
    ("demo project", lambda k: "/demo_project/" in k),
    ("DRF", lambda k: "/rest_framework/" in k),
    ("Django ORM", lambda k: "/django/db/" in k),
    ("Django cache", lambda k: "/django/core/cache/" in k),
    ("Django signals", lambda k: "/django/dispatch/" in k),
    ("Django middleware, handler, request/response", lambda k: "/django/" in k),
    ("logging (audit log line)", lambda k: "/logging/" in k or "TextIOWrapper" in k),
    ("json", lambda k: "/json/" in k or "_json" in k),
    ("urllib.parse (form and query parsing)", lambda k: "/urllib/" in k),
    ("hmac/hashlib/base64/secrets", lambda k: "/hmac.py" in k
        or "_hashlib" in k or "/secrets.py" in k or "/base64.py" in k),
    ("benchmark harness", lambda k: "/benchmarks/" in k),
]


def key_text(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    return f"{filename}:{line}({name})"


def group_of(text: str) -> str:
    for group, test in GROUPS:
        if test(text):
            return group
    return "other Python / builtins"


def profile(fn: Callable[[], Any], calls: int) -> pstats.Stats:
    for _ in range(50):
        fn()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    return pstats.Stats(profiler)


def summarise(stats: pstats.Stats, calls: int, top: int) -> dict[str, Any]:
    """Own time per group. A builtin (``dict.get``, ``str.join``, ...) counts for the group
    of the code that called it, in proportion to the time each caller spent in it; the
    crypto and the database driver, which are builtins too, count as themselves."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    groups: dict[str, float] = defaultdict(float)
    ours: list[tuple[float, float, str]] = []
    total = 0.0
    for func, (_cc, _nc, tottime, cumtime, callers) in raw.items():
        text = key_text(func)
        total += tottime
        group = group_of(text)
        if func[0] == "~" and group == "other Python / builtins" and callers:
            spent = sum(c[2] for c in callers.values()) or 1.0
            for caller, c in callers.items():
                groups[group_of(key_text(caller))] += tottime * c[2] / spent
        else:
            groups[group] += tottime
        if "/oauth_cc/" in text:
            short = text.split("/oauth_cc/", 1)[1]
            ours.append((cumtime, tottime, "oauth_cc/" + short))
    ours.sort(reverse=True)
    middleware: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, _tottime, cumtime, _callers) in raw.items():
        filename, _line, name = func
        if "/middleware" in filename and name.startswith("process_"):
            module = filename.rsplit("/site-packages/", 1)[-1].removesuffix(".py")
            middleware[module.replace("/", ".")] += cumtime
    return {
        "middleware_us_per_call": {m: t / calls * 1e6 for m, t in
                                   sorted(middleware.items(), key=lambda kv: -kv[1])},
        "calls": calls,
        "profiled_us_per_call": total / calls * 1e6,
        "groups": {g: {"us_per_call": t / calls * 1e6, "share": t / total}
                   for g, t in sorted(groups.items(), key=lambda kv: -kv[1])},
        "oauth_cc_functions": [{"function": name, "cumulative_us": c / calls * 1e6,
                                "own_us": t / calls * 1e6} for c, t, name in ours[:top]],
    }


def markdown(title: str, summary: dict[str, Any], crypto: str) -> str:
    lines = [f"#### {title}", "",
             f"{summary['calls']} calls, {summary['profiled_us_per_call']:.0f} µs per call "
             f"under the profiler. {crypto}", "",
             "| where (own time) | µs/call (profiled) | share |", "|---|---:|---:|"]
    for group, g in summary["groups"].items():
        if g["share"] >= 0.005:
            lines.append(f"| {group} | {g['us_per_call']:.0f} | {g['share']:.0%} |")
    if summary["middleware_us_per_call"]:
        lines += ["", "| middleware (process_request/view/response) | µs/call (profiled) |",
                  "|---|---:|"]
        lines += [f"| `{m}` | {us:.0f} |" for m, us in summary["middleware_us_per_call"].items()]
    lines += ["", "| oauth_cc function | cumulative µs | own µs |", "|---|---:|---:|"]
    for f in summary["oauth_cc_functions"]:
        lines.append(f"| `{f['function']}` | {f['cumulative_us']:.0f} | {f['own_us']:.0f} |")
    return "\n".join(lines)


def token_parts(client: Any, secret: str) -> dict[str, float]:
    """The token request's pieces, each called on its own, in turns with the RS256 sign."""
    from oauth_cc import audit, throttle
    from oauth_cc.client_auth import ClientCredentials, authenticate_client
    from oauth_cc.models import Client
    from oauth_cc.tokens import mint_access_token

    credentials = ClientCredentials(client.client_id, secret, "client_secret_post")
    sign = harness.rs256_reference()["raw_sign"]
    medians, _ = harness.interleaved_us({
        "raw RS256 sign (cryptography)": sign,
        "tokens.mint_access_token (PyJWT jwt.encode + claims)": lambda: mint_access_token(
            client_id=client.client_id, project_id=client.project_id, scopes=["address"],
            expires_in=900),
        "client_auth.authenticate_client (all below)": lambda: authenticate_client(
            credentials, "127.0.0.1"),
        "  Client.objects.record (the one query)": lambda: Client.objects.record(
            client.client_id),
        "  throttle.check (3 cache operations)": lambda: throttle.check(client.client_id,
                                                                  "127.0.0.1"),
        "audit.emit token_issued (signal + INFO log line)": lambda: audit.emit(
            audit.token_issued, "token_issued", client_id=client.client_id,
            project_id=client.project_id, jti="x" * 22, scope="address", expires_in=900,
            remote_addr="127.0.0.1"),
    }, seconds=2.0, rounds=21)
    return medians


def auth_parts(token: str, cold: Callable[[], None]) -> dict[str, float]:
    """The authentication path's pieces, each called on its own, in turns with the raw RS256
    verification (medians, µs)."""
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from oauth_cc import acceptance, clock, jose, state, verification
    from oauth_cc.authentication import BearerJWTAuthentication
    from oauth_cc.keyring import key_ring
    from oauth_cc.permissions import HasScope
    from oauth_cc.principal import ClientPrincipal
    from oauth_cc.settings import oauth_cc_settings

    header, payload, signature = jose.split(token, verification.MAX_TOKEN_LENGTH)
    signed = f"{header}.{payload}".encode("ascii")
    raw_signature = jose.b64decode(signature, "signature")
    kid, _ = verification._kid_and_alg(header)
    key = key_ring.verification_key(kid)
    assert key is not None
    algorithm = verification._ALGORITHMS[key.algorithm]
    expected = acceptance.expected()
    now = clock.now()
    claims = jose.json_object(payload, "payload")
    verified = verification.verify(token, key_ring, expected, now=now, leeway=30.0)
    request = Request(RequestFactory().get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}"))
    authentication, permission = BearerJWTAuthentication(), HasScope()
    request.user, request.auth = authentication.authenticate(request)  # type: ignore[misc]

    class View(APIView):
        required_scopes = ["address"]

    view = View()
    reference = harness.rs256_reference()
    medians, _ = harness.interleaved_us({
        "raw RS256 verify (cryptography, 400 bytes)": reference["raw_verify"],
        "PyJWT RSAAlgorithm.verify of the token (what verify() calls)":
            lambda: algorithm.verify(signed, key.key, raw_signature),
        "jose.split (regex fullmatch of the token)":
            lambda: jose.split(token, verification.MAX_TOKEN_LENGTH),
        "jose.b64decode (signature)": lambda: jose.b64decode(signature, "signature"),
        "verification._kid_and_alg (header, cached)":
            lambda: verification._kid_and_alg(header),
        "key_ring.verification_key(kid)": lambda: key_ring.verification_key(kid),
        "signing input f'{h}.{p}'.encode()": lambda: f"{header}.{payload}".encode("ascii"),
        "jose.json_object (payload: b64 + utf-8 + json with duplicate check)":
            lambda: jose.json_object(payload, "payload"),
        "verification.check_claims": lambda: verification.check_claims(
            claims, expected, now=now, leeway=30.0),
        "verification.VerifiedToken(claims, kid)":
            lambda: verification.VerifiedToken(claims, kid),
        "verification.verify (all of the above)": lambda: verification.verify(
            token, key_ring, expected, now=now, leeway=30.0),
        "acceptance.expected() (settings reads)": acceptance.expected,
        "clock.now() + LEEWAY_SECONDS read": lambda: (clock.now(),
                                                      oauth_cc_settings.LEEWAY_SECONDS),
        "state.check (client record + revocations)": lambda: state.check(verified),
        "acceptance.verify_access_token, reused token (cache hit)":
            lambda: acceptance.verify_access_token(token),
        "ClientPrincipal(verified)": lambda: ClientPrincipal(verified),
        "BearerJWTAuthentication.authenticate, reused token":
            lambda: authentication.authenticate(request),
        "HasScope.has_permission": lambda: permission.has_permission(request, view),
        "authenticate + has_permission, new token each call (cold)": cold,
    }, seconds=3.0, rounds=21)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    db = harness.setup_django("demo_project.settings", "profile")
    from django.core.handlers.wsgi import WSGIHandler

    from benchmarks import inprocess
    from oauth_cc.authentication import BearerJWTAuthentication
    from oauth_cc.models import Client, Scope
    from oauth_cc.permissions import HasScope
    from oauth_cc.testing import mint_token

    Scope.objects.get_or_create(name="address")
    client, secret = Client.objects.create_client(f"profile {secrets.token_hex(4)}",
                                                  scopes=["address"])
    token_request = harness.token_request(WSGIHandler(), client.client_id, secret)
    token = mint_token(client, ["address"])
    authenticate = drf.prepared_auth(BearerJWTAuthentication(), HasScope(), token)
    _, calls = inprocess.bearer_auth()  # lowers the token cache's limit: see inprocess
    paired = harness.paired(vs_sign={"token": token_request}, vs_decode={"auth": authenticate},
                            vs_verify={"auth_cold": calls["cold"]},
                            others={"view_open": calls["view_open"],
                                    "view_protected": calls["view_protected"]},
                            ratios={"view_protected_per_open": ("view_protected", "view_open"),
                                    "auth_warm_per_verify": ("auth", "raw_verify")},
                            differences={"view_overhead_us": ("view_protected", "view_open")},
                            seconds=3.0, rounds=31)
    parts = token_parts(client, secret)
    pieces = auth_parts(token, calls["cold"])
    token_summary = summarise(profile(token_request, args.requests), args.requests, args.top)
    auth_summary = summarise(profile(authenticate, args.requests * 5), args.requests * 5,
                             args.top)
    cold_summary = summarise(profile(calls["cold"], args.requests * 2), args.requests * 2,
                             args.top)
    view_calls = args.requests * 2
    protected_summary = summarise(profile(calls["view_protected"], view_calls), view_calls,
                                  args.top)
    open_summary = summarise(profile(calls["view_open"], view_calls), view_calls, args.top)
    sign_share = paired["raw_sign_us"] / paired["token_us"]
    print(f"Profiles on {db}, {harness.machine()}\n")
    print(markdown(
        "Token endpoint: POST /oauth/token through the WSGI handler, demo middleware",
        token_summary,
        f"Without the profiler: {paired['token_us']:.0f} µs per request, of which the RS256 "
        f"signature ({paired['raw_sign_us']:.0f} µs) is {sign_share:.0%}."))
    print()
    print(markdown(
        "Authentication, reused token (cache warm): BearerJWTAuthentication.authenticate() + "
        "HasScope.has_permission()",
        auth_summary,
        f"Without the profiler: {paired['auth_us']:.1f} µs per call, "
        f"{paired['auth_warm_per_verify']:.2f} x the raw RS256 verification "
        f"({paired['raw_verify_us']:.1f} µs); one PyJWT jwt.decode is "
        f"{paired['pyjwt_decode_us']:.1f} µs."))
    print()
    print(markdown(
        "Authentication, a new token each call (cache cold)", cold_summary,
        f"Without the profiler: {paired['auth_cold_us']:.1f} µs per call, "
        f"{paired['auth_cold_per_verify']:.2f} x the raw RS256 verification "
        f"({paired['raw_verify_us']:.1f} µs), which is "
        f"{paired['raw_verify_us'] / paired['auth_cold_us']:.0%} of it."))
    print()
    print(markdown("DRF view with BearerJWTAuthentication + HasScope (reused token)",
                   protected_summary,
                   f"Without the profiler: {paired['view_protected_us']:.0f} µs per call, "
                   f"{paired['view_protected_per_open']:.2f} x the same view without the "
                   f"classes ({paired['view_open_us']:.0f} µs); overhead "
                   f"{paired['view_overhead_us']:.0f} µs."))
    print()
    print(markdown("The same DRF view without authentication or permission classes",
                   open_summary, ""))
    print()
    print("#### Pieces of the token request, without the profiler (in turns, medians)\n")
    print("| piece | µs/call | x raw RS256 sign |\n|---|---:|---:|")
    for name, us in parts.items():
        if name != "cpu_share":
            print(f"| {name} | {us:.1f} | {us / parts['raw RS256 sign (cryptography)']:.2f} |")
    print()
    print("#### Pieces of the authentication path, without the profiler (in turns, medians)\n")
    verify_us = pieces["raw RS256 verify (cryptography, 400 bytes)"]
    print("| piece | µs/call | x raw RS256 verify |\n|---|---:|---:|")
    for name, us in pieces.items():
        if name != "cpu_share":
            print(f"| {name} | {us:.2f} | {us / verify_us:.3f} |")
    if args.json:
        harness.write_json(args.json, {"db": db, "machine": harness.machine(),
                                       "paired": paired, "parts": parts,
                                       "auth_parts": pieces, "token": token_summary,
                                       "auth": auth_summary, "auth_cold": cold_summary,
                                       "view_protected": protected_summary,
                                       "view_open": open_summary})


if __name__ == "__main__":
    main()
