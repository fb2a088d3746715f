"""The benchmark's entry point (``make bench``, ``make bench-quick``).

    python -m benchmarks.run [--quick] [--no-http] [--json PATH] [--save-reference]
    python -m benchmarks.run --show PATH        # print the table of an earlier run

Runs each measurement in its own process (Django settings are per process): oauth_cc
(``benchmarks.inprocess``), django-oauth-toolkit (``benchmarks.dot``) and simplejwt
(``benchmarks.simplejwt``) on SQLite and, when ``DATABASE_URL`` names PostgreSQL, again on
it; then, unless ``--quick`` or ``--no-http``, the loopback HTTP run
(``benchmarks.loopback``). Prints one table with every figure's ratio to its limit and to the
peers, PASS/FAIL per target, and writes the combined JSON (default
``benchmarks/results/latest.json``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import harness

PACKAGES = ("django-oauth-cc", "Django", "djangorestframework", "PyJWT", "cryptography",
            "django-oauth-toolkit", "oauthlib", "djangorestframework-simplejwt", "gunicorn")
PROCESS_TIMEOUT = 900


def run_process(module: str, args: list[str], env: dict[str, str], workdir: Path,
                label: str) -> dict[str, Any]:
    """``python -m benchmarks.MODULE ... --json FILE`` and its figures; its log is kept in
    ``workdir`` and its tail printed if it fails."""
    out, log_path = workdir / f"{label}.json", workdir / f"{label}.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args, "--json",
                               str(out)], env=env, cwd=harness.ROOT, stdout=subprocess.PIPE,
                              stderr=log, text=True, timeout=PROCESS_TIMEOUT, check=False)
    for line in done.stdout.splitlines():
        print(f"  {line}", flush=True)
    if done.returncode != 0:
        tail = log_path.read_text()[-3000:]
        raise SystemExit(f"benchmarks.{module} failed ({done.returncode}):\n{tail}")
    print(f"  ({label}: {time.monotonic() - started:.0f} s)", flush=True)
    return dict(json.loads(out.read_text()))


def database_pass(db_url: str | None, quick: bool, workdir: Path, label: str) -> dict[str, Any]:
    """oauth_cc, DOT and simplejwt, each in its own process, on one database engine."""
    env = {**os.environ, "OAUTH_CC_ISSUER": harness.ISSUER, "DJANGO_DEBUG": "0",
           "PYTHONPATH": str(harness.ROOT)}
    env.pop("REDIS_URL", None)  # every process on the local-memory cache, as the demo default
    env.pop("DATABASE_URL", None)
    if db_url:
        env["DATABASE_URL"] = db_url
    extra = ["--quick"] if quick else []
    return {
        "oauth_cc": run_process("inprocess", extra, env, workdir, f"oauth_cc-{label}"),
        "dot": run_process("dot", extra, env, workdir, f"dot-{label}"),
        "simplejwt": run_process("simplejwt", extra, env, workdir, f"simplejwt-{label}"),
    }


def ratios(raw: dict[str, Any]) -> dict[str, float]:
    """Ratios between processes, each from figures normalised by the limit measured in turns
    with it in its own process (``harness.paired``); ``direct_*`` from the plain figures."""
    o, d, s = raw["oauth_cc"], raw["dot"], raw["simplejwt"]
    op, dp, sp = o["paired"], d["paired"], s["paired"]
    return {
        "token_per_sign": op["token_per_sign"],
        "token_vs_dot_hashed": op["token_per_sign"] / dp["dot_token_hashed_per_sign"],
        "token_vs_dot_unhashed": op["token_per_sign"] / dp["dot_token_unhashed_per_sign"],
        "token_vs_simplejwt_mint": op["token_per_sign"] / sp["simplejwt_mint_per_sign"],
        "dot_hashed_per_sign": dp["dot_token_hashed_per_sign"],
        "dot_unhashed_per_sign": dp["dot_token_unhashed_per_sign"],
        "simplejwt_mint_per_sign": sp["simplejwt_mint_per_sign"],
        "auth_per_decode": op["auth_per_decode"],
        "dot_auth_per_decode": dp["dot_auth_per_decode"],
        "simplejwt_auth_per_decode": sp["simplejwt_auth_per_decode"],
        "simplejwt_stateless_auth_per_decode": sp["simplejwt_stateless_auth_per_decode"],
        "auth_speedup_vs_dot": dp["dot_auth_per_decode"] / op["auth_per_decode"],
        "auth_speedup_vs_simplejwt": sp["simplejwt_auth_per_decode"] / op["auth_per_decode"],
        "auth_speedup_vs_simplejwt_stateless":
            sp["simplejwt_stateless_auth_per_decode"] / op["auth_per_decode"],
        # Issue #12: the verified-token cache. "auth" above is the warm figure (a reused
        # token); the cold one verifies every time, as the peers do.
        "auth_warm_per_verify": op["auth_warm_per_verify"],
        "auth_cold_per_verify": op["auth_cold_per_verify"],
        "auth_cold_per_decode": op["auth_cold_per_decode"],
        "auth_cold_speedup_vs_dot": dp["dot_auth_per_decode"] / op["auth_cold_per_decode"],
        "auth_cold_speedup_vs_simplejwt":
            sp["simplejwt_auth_per_decode"] / op["auth_cold_per_decode"],
        "auth_cold_speedup_vs_simplejwt_stateless":
            sp["simplejwt_stateless_auth_per_decode"] / op["auth_cold_per_decode"],
        "view_protected_per_open": op["view_protected_per_open"],
        # Issue #14: a private_key_jwt token request verifies one assertion and signs one
        # token; its rate over that of one raw sign plus one raw verify.
        **({"pkjwt_per_sign_verify": op["pkjwt_per_sign_verify"]}
           if "pkjwt_per_sign_verify" in op else {}),
        # Issue #15: a DPoP request's authentication over one raw ES256 verify (the proof)
        # plus one raw RS256 verify (the token). Issue #16: the token quota's cost.
        **({"dpop_auth_per_verifies": 1 / op["dpop_verifies_per_auth"],
            "token_quota_overhead": op["token_quota_per_token"] - 1}
           if "dpop_verifies_per_auth" in op else {}),
        "direct_token_per_sign": o["token_per_s"] / o["raw_rs256_sign_per_s"],
        "direct_token_vs_dot_hashed": o["token_per_s"] / d["dot_token_per_s_hashed"],
        "direct_token_vs_dot_unhashed": o["token_per_s"] / d["dot_token_per_s_unhashed"],
        "direct_auth_per_decode": o["auth_overhead_us"] / o["pyjwt_decode_us"],
        "direct_auth_speedup_vs_dot": d["dot_auth_us"] / o["auth_overhead_us"],
        "direct_auth_speedup_vs_simplejwt": s["simplejwt_auth_us"] / o["auth_overhead_us"],
    }


TARGETS = [
    # (key, figure, operator, bound, issue, description)
    ("token_vs_sign", "token_per_sign", ">=", 0.30, 6,
     "token endpoint >= 0.30 x raw RS256 sign rate"),
    ("token_vs_sign_12", "token_per_sign", ">=", 0.50, 12,
     "token endpoint >= 0.5 x raw RS256 sign rate"),
    ("token_vs_dot_default", "token_vs_dot_hashed", ">=", 100.0, 6,
     "token endpoint >= 100 x DOT default (hashed secrets)"),
    ("token_vs_dot_unhashed", "token_vs_dot_unhashed", ">=", 1.5, 6,
     "token endpoint >= 1.5 x DOT hash_client_secret=False"),
    ("token_queries", "token_queries", "<=", 1.0, 6,
     "token request: <= 1 query (warm process)"),
    ("auth_vs_decode", "auth_per_decode", "<=", 1.3, 6,
     "bearer auth <= 1.3 x one PyJWT RS256 decode"),
    ("auth_vs_dot", "auth_speedup_vs_dot", ">=", 8.0, 6,
     "bearer auth >= 8 x faster than DOT OAuth2Authentication"),
    ("auth_vs_simplejwt", "auth_speedup_vs_simplejwt", ">=", 3.0, 6,
     "bearer auth >= 3 x faster than simplejwt JWTAuthentication"),
    ("auth_queries", "auth_queries", "<=", 0.0, 6,
     "bearer auth: 0 queries"),
    ("auth_warm_vs_verify", "auth_warm_per_verify", "<=", 0.35, 12,
     "bearer auth, reused token <= 0.35 x raw RS256 verify"),
    ("auth_cold_vs_verify", "auth_cold_per_verify", "<=", 1.6, 12,
     "bearer auth, new token <= 1.6 x raw RS256 verify"),
    ("auth_cold_queries", "auth_cold_queries", "<=", 0.0, 12,
     "bearer auth, new token: 0 queries"),
    ("view_protected_vs_open", "view_protected_per_open", "<=", 1.25, 12,
     "DRF view with the classes <= 1.25 x without"),
    ("pkjwt_vs_sign_verify", "pkjwt_per_sign_verify", ">=", 0.4, 14,
     "private_key_jwt token >= 0.4 x (RS256 sign + verify) rate"),
    ("pkjwt_queries", "pkjwt_token_queries", "<=", 1.0, 14,
     "private_key_jwt token request: <= 1 query (warm)"),
    ("dpop_auth_vs_verifies", "dpop_auth_per_verifies", "<=", 1.5, 15,
     "DPoP auth <= 1.5 x (raw ES256 + RS256 verify)"),
    ("dpop_auth_queries", "dpop_auth_queries", "<=", 0.0, 15,
     "DPoP auth: 0 queries"),
    ("token_quota_overhead", "token_quota_overhead", "<=", 0.03, 16,
     "token quota costs <= 3% of a token request"),
]
# Over HTTP (the sqlite pass's server), only when the loopback run ran.
HTTP_TARGETS = [
    ("http_api_vs_open", "http_api_per_open", ">=", 0.8, 12,
     "HTTP: protected API >= 0.8 x the open view's req/s"),
]


def targets(figures: dict[str, Any], which: list[tuple[Any, ...]] = TARGETS
            ) -> list[dict[str, Any]]:
    out = []
    for key, name, op, bound, issue, description in which:
        if name not in figures:  # a results file from before the figure existed
            continue
        value = float(figures[name])
        passed = value >= bound if op == ">=" else value <= bound
        out.append({"target": key, "description": description, "value": value, "op": op,
                    "bound": bound, "issue": issue, "pass": passed})
    return out


def flatten(raw: dict[str, Any]) -> dict[str, Any]:
    """One database pass as flat figures, ratios and targets."""
    flat: dict[str, Any] = {}
    for name in ("oauth_cc", "dot", "simplejwt"):
        flat.update({k: v for k, v in raw[name].items() if k not in ("paired", "machine")})
    flat["ratios"] = ratios(raw)
    flat["paired"] = {name: raw[name]["paired"] for name in ("oauth_cc", "dot", "simplejwt")}
    flat["targets"] = targets({**flat, **flat["ratios"]})
    return flat


# ---------------------------------------------------------------------------------- table


def n(value: float, unit: str = "") -> str:
    """A figure with sensible precision."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    text = (f"{value:.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10
            else f"{value:.2f}" if magnitude >= 0.1 else f"{value:.2g}")
    return text + unit


def fmt_load(values: list[float]) -> str:
    return " ".join(f"{v:.1f}" for v in values)


def x(value: float) -> str:
    return n(value) + " x"


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  " + "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}"
                           for i, w in enumerate(widths))
    return [fmt.format(*header), *(fmt.format(*r) for r in rows)]


def report(results: dict[str, Any]) -> str:
    r = results
    lines = [f"django-oauth-cc benchmark, {r['date']} ({r['mode']})",
             f"machine: {r['machine']}",
             "versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items())]
    if "loadavg" in r:
        lines.append(f"load average (1/5/15 min) at start {fmt_load(r['loadavg']['start'])}, "
                     f"at end {fmt_load(r['loadavg']['end'])}: the machine is shared, so each "
                     "ratio is taken round by round within one process (see README)")
    lines.append("")
    lines.append("LIMITS: cryptography and PyJWT, one core (RSA-2048, P-256, Ed25519); RS256 in "
                 "turns with oauth_cc's figures, ES256 and EdDSA on their own")
    lines += table([
        ["raw sign", n(r["raw_rs256_sign_us"], " µs"), n(r["raw_es256_sign_us"], " µs"),
         n(r["raw_eddsa_sign_us"], " µs")],
        ["raw verify", n(r["raw_rs256_verify_us"], " µs"), n(r["raw_es256_verify_us"], " µs"),
         n(r["raw_eddsa_verify_us"], " µs")],
        ["PyJWT jwt.encode", n(r["pyjwt_encode_rs256_us"], " µs"),
         n(r["pyjwt_encode_es256_us"], " µs"), n(r["pyjwt_encode_eddsa_us"], " µs")],
        ["PyJWT jwt.decode", n(r["pyjwt_decode_rs256_us"], " µs"),
         n(r["pyjwt_decode_es256_us"], " µs"), n(r["pyjwt_decode_eddsa_us"], " µs")],
    ], ["", "RS256", "ES256", "EdDSA"])
    lines.append(f"  raw RS256 sign rate: {n(r['raw_rs256_sign_per_s'], '/s')}; "
                 f"PyJWT RS256 decode is {x(r['pyjwt_decode_us'] / r['raw_rs256_verify_us'])}"
                 " a raw verify")
    passes = [("sqlite", r)] + ([("postgresql", r["postgresql"])] if "postgresql" in r else [])
    for db, p in passes:
        lines += ["", *db_section(db, p)]
    if "http" in r:
        lines += ["", *http_section(r)]
    for db, p in passes:
        lines += ["", f"TARGETS ({db}; ratios normalised by the limit measured in turns in "
                      "each process)"]
        for t in p["targets"]:
            issue = f"#{t['issue']}" if "issue" in t else ""
            lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {issue:<4} "
                         f"{t['description']:<58} {n(t['value'])} "
                         f"(bound {t['op']} {n(t['bound'])})")
        if db == "sqlite" and "http_api_per_open" not in p:
            for *_, issue, description in HTTP_TARGETS:
                lines.append(f"  ----  #{issue:<3} {description:<58} not measured "
                             "(no loopback run)")
    return "\n".join(lines)


def db_section(db: str, p: dict[str, Any]) -> list[str]:
    q = p["ratios"]
    lines = [f"TOKEN ENDPOINT, in-process through Django's WSGI handler, demo middleware ({db})"]
    lines += table([
        ["oauth_cc POST /oauth/token", n(p["token_per_s"]), n(p["token_p50_us"]),
         n(p["token_p99_us"]), f"{n(p['token_queries'])} ({n(p['token_queries_mean'])})",
         x(q["token_per_sign"]), "-"],
        ["DOT /o/token/ default (hashed)", n(p["dot_token_per_s_hashed"]),
         f"{n(p['dot_token_us_hashed'])}*", "-", n(p["dot_token_queries_hashed"]),
         x(q["dot_hashed_per_sign"]), x(q["token_vs_dot_hashed"])],
        ["DOT /o/token/ hash_client_secret=False", n(p["dot_token_per_s_unhashed"]),
         n(p["dot_token_p50_us_unhashed"]), n(p["dot_token_p99_us_unhashed"]),
         n(p["dot_token_queries_unhashed"]), x(q["dot_unhashed_per_sign"]),
         x(q["token_vs_dot_unhashed"])],
        ["simplejwt AccessToken mint only (no HTTP)", n(1e6 / p["simplejwt_mint_us"]), "-",
         "-", "0", x(q["simplejwt_mint_per_sign"]), x(q["token_vs_simplejwt_mint"])],
    ], ["", "tokens/s", "p50 µs", "p99 µs", "queries", "x RS256 sign", "oauth_cc is"])
    lines.append(f"  * median of {p['dot_token_requests_hashed']} requests. queries: median "
                 "per request (mean). DOT writes an AccessToken row per token.")
    lines.append(f"  {db}: one SELECT 1 round trip {n(p['db_select1_us'], ' µs')}; our token "
                 f"request's one query (Client.objects.record) {n(p['token_query_us'], ' µs')}")
    lines += ["", f"BEARER AUTHENTICATION on a prepared DRF request ({db})"]
    cold = "auth_cold_us" in p  # not in results from before issue #12
    verify = p.get("raw_rs256_verify_us", p["paired"]["oauth_cc"]["raw_verify_us"])

    def faster(name: str) -> list[str]:
        return [x(q[f"auth_speedup_vs_{name}"]) + " faster",
                *([x(q[f"auth_cold_speedup_vs_{name}"]) + " faster"] if cold else [])]

    ours = [["oauth_cc BearerJWTAuthentication + HasScope" + (", reused token" if cold else ""),
             n(p["auth_overhead_us"]), n(p["auth_queries"]),
             x(q.get("auth_warm_per_verify", p["auth_overhead_us"] / verify)),
             x(q["auth_per_decode"]), "-", *(["-"] if cold else [])]]
    if cold:
        ours.append(["oauth_cc the same, a new token each call", n(p["auth_cold_us"]),
                     n(p["auth_cold_queries"]), x(q["auth_cold_per_verify"]),
                     x(q["auth_cold_per_decode"]), "-", "-"])
    lines += table([
        *ours,
        ["DOT OAuth2Authentication + TokenHasScope", n(p["dot_auth_us"]),
         n(p["dot_auth_queries"]), "-", x(q["dot_auth_per_decode"]), *faster("dot")],
        ["simplejwt JWTAuthentication + IsAuthenticated", n(p["simplejwt_auth_us"]),
         n(p["simplejwt_auth_queries"]), "-", x(q["simplejwt_auth_per_decode"]),
         *faster("simplejwt")],
        ["simplejwt JWTStatelessUserAuthentication", n(p["simplejwt_stateless_auth_us"]),
         n(p["simplejwt_stateless_auth_queries"]), "-",
         x(q["simplejwt_stateless_auth_per_decode"]), *faster("simplejwt_stateless")],
    ], ["", "µs/call", "queries", "x raw verify", "x PyJWT decode", "oauth_cc is",
        *(["oauth_cc new token is"] if cold else [])])
    if cold:
        lines.append(
            f"  reused token: verified once, then served by the verified-token cache "
            f"(signatures verified per call: {n(p['auth_warm_verified_share'])}); new token: "
            f"{p['auth_cold_tokens']} tokens in a cycle, the cache limited to "
            f"{p['auth_cold_cache_limit']} in this process (VERIFIED_TOKENS_LIMIT is 10,000), so "
            f"every call verifies ({n(p['auth_cold_verified_share'])} per call). The peers "
            "keep no such cache.")
    lines += ["", f"WHOLE DRF VIEW, same view with and without the classes ({db})"]
    decode = p["pyjwt_decode_us"]
    rows = []
    for label, prefix in [("oauth_cc", ""), ("DOT", "dot_"), ("simplejwt", "simplejwt_")]:
        overhead = p[f"{prefix}view_overhead_us"]
        with_us, without_us = p[f"{prefix}view_protected_us"], p[f"{prefix}view_open_us"]
        ratio = q["view_protected_per_open"] if not prefix and "view_protected_per_open" in q \
            else with_us / without_us
        rows.append([label, n(with_us), n(without_us), x(ratio), n(overhead),
                     x(overhead / decode),
                     "-" if not prefix else x(overhead / p["view_overhead_us"]) + " less"])
    lines += table(rows, ["", "with µs", "without µs", "with/without", "overhead µs",
                          "x PyJWT decode", "oauth_cc adds"])
    lines.append("  oauth_cc: measured in turns with the limits (a reused token); with/without "
                 "is the median of the rounds' ratios (the peers': of their medians)")
    if "pkjwt_token_us" in p:
        lines += ["", f"SECRETLESS CLIENTS AND SENDER-CONSTRAINED TOKENS ({db})"]
        lines += table([
            ["private_key_jwt POST /oauth/token (RS256 assertion)", n(p["pkjwt_token_us"]),
             n(p["pkjwt_token_per_s"]), n(p["pkjwt_token_queries"]),
             x(q["pkjwt_per_sign_verify"]) + " the rate of (sign + verify)"],
            *([["DPoP-bound token + proof, authenticate + HasScope", n(p["dpop_auth_us"]),
                "-", n(p["dpop_auth_queries"]),
                x(q["dpop_auth_per_verifies"]) + " the cost of (ES256 + RS256 verify)"],
               ["POST /oauth/token of a client under a token quota", n(p["token_quota_us"]),
                "-", n(p["token_queries"]),
                f"+{q['token_quota_overhead'] * 100:.1f}% over the same without a quota"]]
              if "dpop_auth_us" in p else []),
        ], ["", "µs/call", "per s", "queries", "vs limit"])
    return lines


def http_section(r: dict[str, Any]) -> list[str]:
    h = r["http"]
    sign_us, verify_us = r["raw_rs256_sign_us"], r["raw_rs256_verify_us"]
    lines = [f"LOOPBACK HTTP: gunicorn {h['workers']} {h['worker_class']} workers on 127.0.0.1, "
             f"{h['concurrency']} connections, <= {n(h['duration_s'])} s or "
             f"{h['max_requests']} requests, the client on the same 2 cores (sqlite)"]
    ours, dot = h["oauth_cc"], h.get("dot", {})

    def row(label: str, s: dict[str, Any], crypto_us: float, crypto: str,
            versus: dict[str, Any] | None) -> list[str]:
        cpu = s["server_cpu_us_per_request"]
        return [label, n(s["per_s"]), n(s["p50_ms"]), n(s["p99_ms"]),
                f"{s['ok']}/{s['requests']}", n(cpu), f"{x(crypto_us / cpu)} {crypto}",
                "-" if versus is None else x(versus["per_s"] / s["per_s"]),
                "-" if versus is None else x(cpu / versus["server_cpu_us_per_request"])]

    rows = [row("oauth_cc POST /oauth/token", ours["token"], sign_us, "sign", None)]
    if dot:
        rows += [row("DOT /o/token/ hash_client_secret=False", dot["token_unhashed"], sign_us,
                     "sign", ours["token"]),
                 row("DOT /o/token/ default (hashed)", dot["token_hashed"], sign_us, "sign",
                     ours["token"])]
    rows.append(row("oauth_cc GET autocomplete (Bearer)", ours["api"], verify_us, "verify",
                    None))
    if dot:
        rows.append(row("DOT GET autocomplete (Bearer)", dot["api"], verify_us, "verify",
                        ours["api"]))
    lines += table(rows, ["", "req/s", "p50 ms", "p99 ms", "ok/sent", "server CPU µs/req",
                          "crypto/CPU", "oauth_cc req/s is", "peer CPU is"])
    turns = ours.get("open_vs_api")
    if turns:
        lines += ["", f"  in turns on the same server: {turns['turns']} rounds of "
                      f"{n(turns['turn_duration_s'])} s each view, both with the Authorization "
                      "header; medians of the rounds"]
        lines += table([
            ["oauth_cc GET autocomplete, open copy (no auth)", n(turns["open_per_s"]),
             f"{turns['open_ok']}/{turns['open_requests']}",
             n(turns["open_server_cpu_us_per_request"]), "-", "-"],
            ["oauth_cc GET autocomplete (Bearer)", n(turns["api_per_s"]),
             f"{turns['api_ok']}/{turns['api_requests']}",
             n(turns["api_server_cpu_us_per_request"]), x(turns["api_per_open"]),
             x(turns["api_cpu_per_open_cpu"])],
        ], ["", "req/s", "ok/sent", "server CPU µs/req", "req/s x open", "CPU x open"])
    client = ours["token"].get("client_cpu_us_per_request", float("nan"))
    lines.append("  server CPU: gunicorn master + workers (from /proc) per request, far less "
                 "skewed by the shared machine than req/s; the client spent "
                 f"~{n(client)} µs CPU per request")
    return lines


# ----------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="shorter loops, no HTTP run (make bench-quick)")
    parser.add_argument("--no-http", action="store_true", help="skip the loopback HTTP run")
    parser.add_argument("--json", default=str(harness.RESULTS / "latest.json"))
    parser.add_argument("--http-duration", type=float, default=10.0)
    parser.add_argument("--http-max-requests", type=int, default=20_000)
    parser.add_argument("--show", metavar="PATH", help="print the table of a results file")
    parser.add_argument("--save-reference", action="store_true",
                        help="also write benchmarks/results/reference-<date>.json")
    args = parser.parse_args()
    if args.show:
        print(report(json.loads(Path(args.show).read_text())))
        return

    started, load_at_start = time.monotonic(), os.getloadavg()
    db_url = os.environ.get("DATABASE_URL", "")
    postgres = db_url.startswith(("postgres://", "postgresql://"))
    with tempfile.TemporaryDirectory(prefix="oauth-cc-bench-") as tmp:
        workdir = Path(tmp)
        print("in-process, sqlite:", flush=True)
        sqlite = database_pass(None, args.quick, workdir, "sqlite")
        results: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "quick" if args.quick else "full",
            "machine": sqlite["oauth_cc"]["machine"],
            "versions": {name: metadata.version(name) for name in PACKAGES},
            **flatten(sqlite),
        }
        results["db"] = "sqlite"
        if postgres:
            print("in-process, postgresql:", flush=True)
            results["postgresql"] = flatten(database_pass(db_url, args.quick, workdir,
                                                          "postgresql"))
            results["db"] = "sqlite, postgresql"
        if not (args.quick or args.no_http):
            env = {**os.environ, "PYTHONPATH": str(harness.ROOT)}
            results["http"] = run_process(
                "loopback", ["--duration", str(args.http_duration),
                             "--max-requests", str(args.http_max_requests)],
                env, workdir, "loopback")
            turns = results["http"]["oauth_cc"]["open_vs_api"]
            results.update({"http_open_per_s": turns["open_per_s"],
                            "http_api_per_s": turns["api_per_s"],
                            "http_api_per_open": turns["api_per_open"]})
            results["targets"] += targets(results, HTTP_TARGETS)
    results["elapsed_s"] = time.monotonic() - started
    results["loadavg"] = {"start": list(load_at_start), "end": list(os.getloadavg())}
    harness.write_json(args.json, results)
    if args.save_reference:
        day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        harness.write_json(harness.RESULTS / f"reference-{day}.json", results)
    print()
    print(report(results))
    print(f"\nwrote {args.json} ({results['elapsed_s']:.0f} s)")


if __name__ == "__main__":
    main()
