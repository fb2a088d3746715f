"""Loopback HTTP: gunicorn (2 sync workers) on 127.0.0.1 serving the demo, under load.

    python -m benchmarks.loopback --json PATH [--duration 10] [--max-requests 20000]
        [--concurrency 16] [--turns 8] [--turn-duration 2.5] [--no-peer]

For oauth_cc: the token endpoint and the demo's protected autocomplete API (with a token from
the token endpoint), then that API and an open copy of the same view (``benchmarks.open_urls``,
served by the same workers) in turns, a few seconds each, so that their ratio is taken round
by round. For django-oauth-toolkit (the same demo, ``benchmarks.peers``): its token
endpoint with ``hash_client_secret=False`` and with its default (a few requests only: each
costs a PBKDF2 hash), and the same autocomplete view behind ``OAuth2Authentication`` +
``TokenHasScope``. Each server is set up as an operator would (``migrate``, then the
management commands), on a fresh SQLite file, started with ``--bind 127.0.0.1:<free port>``
and stopped in a ``finally``. The load generator (``benchmarks.loadgen``) runs on the same
2 cores as the server: figures are what one machine does, client included.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import harness, loadgen

AUTOCOMPLETE = "/api/au/address/autocomplete/?q=274+Harb&format=json"
OPEN_AUTOCOMPLETE = "/bench-open/au/address/autocomplete/?q=274+Harb&format=json"
DOT_AUTOCOMPLETE = "/api-dot/au/address/autocomplete/?q=274+Harb&format=json"
HASHED_REQUESTS = 16


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its children (gunicorn's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, str(harness.ROOT / "manage.py"), *args], env=env,
                          cwd=harness.ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def http(url: str, *, data: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url, data=data)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


@contextmanager
def gunicorn(settings_module: str, workdir: Path,
             name: str) -> Iterator[tuple[str, dict[str, str], int]]:
    """A migrated fresh SQLite demo served by gunicorn on a free loopback port; yields
    ``(base URL, environment, master pid)`` and stops the server on the way out."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "OAUTH_CC_ISSUER": base,
           "DJANGO_DEBUG": "0", "DATABASE_URL": f"sqlite:///{workdir / (name + '.sqlite3')}",
           "PYTHONPATH": str(harness.ROOT)}
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput")
    log = (workdir / f"{name}-gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "demo_project.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync",
         "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning"],
        env=env, cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield base, env, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()


def wait_ready(base: str, server_log: Path) -> None:
    """Until the JWKS answers (which also creates the first signing key, before any load)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http(base + "/.well-known/jwks.json", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer:\n{server_log.read_text()[-2000:]}")


def load(url: str, args: argparse.Namespace, server_pid: int, *, warmup: int = 200,
         max_requests: int | None = None, duration: float | None = None,
         **request: Any) -> dict[str, Any]:
    """A short warm-up (every worker loads its keys and caches), then the measured run.

    Besides requests/s and latencies, the server's CPU time per request (gunicorn's master
    and workers, from /proc): on a shared machine that is the figure to compare, since it
    does not depend on how much of the cores the server was given.
    """
    if warmup:
        loadgen.run_load(url, concurrency=args.concurrency, duration=2.0, max_requests=warmup,
                         **request)
    load_before, cpu_before = os.getloadavg()[0], cpu_seconds(server_pid)
    result = loadgen.run_load(url, concurrency=args.concurrency,
                              duration=duration or args.duration,
                              max_requests=max_requests or args.max_requests, **request)
    server_cpu = cpu_seconds(server_pid) - cpu_before
    summary = result.summary()
    summary["loadavg_1min"] = [load_before, os.getloadavg()[0]]
    summary["server_cpu_us_per_request"] = (server_cpu / result.completed * 1e6
                                            if result.completed else float("nan"))
    print(f"  {url.split('/', 3)[-1][:60]:<60} {summary['per_s']:8.1f}/s  "
          f"p99 {summary['p99_ms']:.1f} ms  ok {summary['ok']}/{summary['requests']}, "
          f"errors {summary['errors']}, server cpu {summary['server_cpu_us_per_request']:.0f} "
          f"µs/req, client cpu {summary['client_cpu_us_per_request']:.0f} µs/req, load "
          f"average {os.getloadavg()[0]:.1f}", flush=True)
    return summary


def token_body(client_id: str, secret: str) -> bytes:
    return (f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
            "&scope=address").encode()


def get_token(base: str, path: str, body: bytes) -> str:
    status, content = http(base + path, data=body)
    if status != 200:
        raise RuntimeError(f"{path}: {status} {content[:300]!r}")
    return str(json.loads(content)["access_token"])


def open_vs_api(base: str, token: str, args: argparse.Namespace,
                server_pid: int) -> dict[str, Any]:
    """The open autocomplete view and the protected one, in turns (open, api, api, open, ...)
    for ``args.turns`` rounds of ``args.turn_duration`` seconds each; both requests carry the
    same ``Authorization`` header (the open view ignores it). Each ratio is the median of the
    rounds' ratios, as in-process."""
    headers = {"Authorization": f"Bearer {token}"}
    urls = {"open": base + OPEN_AUTOCOMPLETE, "api": base + AUTOCOMPLETE}
    for url in urls.values():  # every worker warm on both views
        loadgen.run_load(url, concurrency=args.concurrency, duration=2.0, max_requests=200,
                         headers=headers)
    rounds = []
    for i in range(args.turns):
        order = ("open", "api") if i % 2 == 0 else ("api", "open")
        rounds.append({name: load(urls[name], args, server_pid, warmup=0,
                                  duration=args.turn_duration, headers=headers)
                       for name in order})
    median = statistics.median
    return {
        "turns": args.turns, "turn_duration_s": args.turn_duration, "rounds": rounds,
        "open_per_s": median([r["open"]["per_s"] for r in rounds]),
        "api_per_s": median([r["api"]["per_s"] for r in rounds]),
        "api_per_open": median([r["api"]["per_s"] / r["open"]["per_s"] for r in rounds]),
        "open_server_cpu_us_per_request": median(
            [r["open"]["server_cpu_us_per_request"] for r in rounds]),
        "api_server_cpu_us_per_request": median(
            [r["api"]["server_cpu_us_per_request"] for r in rounds]),
        "api_cpu_per_open_cpu": median([r["api"]["server_cpu_us_per_request"]
                                        / r["open"]["server_cpu_us_per_request"]
                                        for r in rounds]),
        "open_ok": sum(r["open"]["ok"] for r in rounds),
        "open_requests": sum(r["open"]["requests"] for r in rounds),
        "api_ok": sum(r["api"]["ok"] for r in rounds),
        "api_requests": sum(r["api"]["requests"] for r in rounds),
    }


def ours(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    # The demo's settings and URLs, plus the open copy of the autocomplete view.
    with gunicorn("benchmarks.open_settings", workdir, "oauth_cc") as (base, env, pid):
        for scope in ("address", "phone", "email"):
            manage(env, "create_oauth_scope", scope)
        client = json.loads(manage(env, "create_oauth_client", "bench", "--scopes", "address",
                                   "--json"))
        wait_ready(base, workdir / "oauth_cc-gunicorn.log")
        body = token_body(client["client_id"], client["client_secret"])
        token = get_token(base, "/oauth/token", body)
        status, content = http(base + OPEN_AUTOCOMPLETE)
        if status != 200:
            raise RuntimeError(f"the open view: {status} {content[:300]!r}")
        return {
            "token": load(base + "/oauth/token", args, pid, method="POST", body=body),
            "api": load(base + AUTOCOMPLETE, args, pid,
                        headers={"Authorization": f"Bearer {token}"}),
            "open_vs_api": open_vs_api(base, token, args, pid),
        }


def dot(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with gunicorn("benchmarks.peers.dot_settings", workdir, "dot") as (base, env, pid):
        clients = {}
        for hashed in (False, True):
            client_id, secret = secrets.token_urlsafe(18), secrets.token_urlsafe(32)
            manage(env, "createapplication", "confidential", "client-credentials",
                   # "=": a random id may start with "-", which argparse takes for an option
                   f"--client-id={client_id}", f"--client-secret={secret}",
                   "--name", f"bench {'hashed' if hashed else 'unhashed'}",
                   *([] if hashed else ["--no-hash-client-secret"]))
            clients[hashed] = token_body(client_id, secret)
        wait_ready(base, workdir / "dot-gunicorn.log")
        token = get_token(base, "/o/token/", clients[False])
        return {
            "token_unhashed": load(base + "/o/token/", args, pid, method="POST",
                                   body=clients[False]),
            "token_hashed": load(base + "/o/token/", args, pid, method="POST", body=clients[True],
                                 warmup=2, max_requests=HASHED_REQUESTS),
            "api": load(base + DOT_AUTOCOMPLETE, args, pid,
                        headers={"Authorization": f"Bearer {token}"}),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--turns", type=int, default=8,
                        help="rounds of the open view and the protected API in turns")
    parser.add_argument("--turn-duration", type=float, default=2.5,
                        help="seconds of each view in each round")
    parser.add_argument("--no-peer", action="store_true", help="oauth_cc only")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": harness.machine(), "db": "sqlite", "workers": 2, "worker_class": "sync",
        "concurrency": args.concurrency, "duration_s": args.duration,
        "max_requests": args.max_requests, "turns": args.turns,
        "turn_duration_s": args.turn_duration,
    }
    with tempfile.TemporaryDirectory(prefix="oauth-cc-loopback-") as tmp:
        workdir = Path(tmp)
        print("loopback HTTP, oauth_cc:", flush=True)
        results["oauth_cc"] = ours(args, workdir)
        if not args.no_peer:
            print("loopback HTTP, django-oauth-toolkit:", flush=True)
            results["dot"] = dot(args, workdir)
    harness.write_json(args.json, results)


if __name__ == "__main__":
    main()
