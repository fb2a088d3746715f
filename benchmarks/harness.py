"""What every benchmark process shares: timing, query counting, requests through the WSGI
handler, Django set-up on a fresh database, and the JSON it writes.

A benchmark process measures one project's settings (Django settings are per process), then
writes its figures as JSON for ``benchmarks.run`` to combine.
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
RESULTS = ROOT / "benchmarks" / "results"
ISSUER = "http://127.0.0.1:8000"


def machine() -> str:
    """One line that says what ran the benchmark."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu or platform.processor() or platform.machine()}, {os.cpu_count()} cpu, "
            f"Python {platform.python_version()}, {platform.platform()}")


def calibrate(fn: Callable[[], Any], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds`` (at least one)."""
    fn()
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min(seconds, 0.05) or calls >= 100_000:
            break
    return max(1, round(calls * seconds / elapsed))


def per_call_us(fn: Callable[[], Any], *, seconds: float, batches: int = 9) -> float:
    """Median over ``batches`` of the mean wall time per call in µs; the whole takes ~``seconds``.

    The median of batch means keeps a batch in which the shared machine stalled us from
    moving the figure.
    """
    calls = calibrate(fn, seconds / batches)
    samples = []
    for _ in range(batches):
        begin = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - begin) / calls * 1e6)
    return statistics.median(samples)


def interleaved_us(fns: dict[str, Callable[[], Any]], *, seconds: float,
                   rounds: int = 9) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Each function in turn, ``rounds`` times (A B C A B C ...), ~``seconds`` for each.

    Returns the median µs per call of each, and every round's figures, so that a ratio of
    two of them can be taken round by round while the machine's speed drifts. Each round
    also records ``cpu_share``: the process's CPU time over the wall time of the round (1.0
    on an idle core; lower when the shared machine kept us waiting).
    """
    calls = {name: calibrate(fn, seconds / rounds) for name, fn in fns.items()}
    per_round: list[dict[str, float]] = []
    for _ in range(rounds):
        figures = {}
        wall, cpu = time.perf_counter(), time.process_time()
        for name, fn in fns.items():
            begin = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            figures[name] = (time.perf_counter() - begin) / calls[name] * 1e6
        figures["cpu_share"] = (time.process_time() - cpu) / (time.perf_counter() - wall)
        per_round.append(figures)
    medians = {name: statistics.median(r[name] for r in per_round) for name in fns}
    medians["cpu_share"] = statistics.median(r["cpu_share"] for r in per_round)
    return medians, per_round


def alternating_ratio(base: Callable[[], Any], other: Callable[[], Any], *,
                      seconds: float) -> float:
    """``other``'s time over ``base``'s: the median, over ~``seconds`` of calls, of the ratio
    within each pair of calls, the two called in alternation (A B, B A, A B, ...).

    For a difference of a percent or two between two similar calls (a token request with and
    without a quota), which neither batches in turns nor sums of calls resolve: the
    machine's speed moves by more than that between two batches, and a pause of a few
    milliseconds (a garbage collection, a periodic reload) lands on either side of a sum at
    random. The two calls of a pair see the same machine, whichever runs first changes
    every time, and the median leaves the pauses out.
    """
    clock = time.perf_counter
    ratios: list[float] = []
    deadline = clock() + seconds
    while clock() < deadline:
        begin = clock()
        base()
        middle = clock()
        other()
        end = clock()
        ratios.append((end - middle) / (middle - begin))
        begin = clock()
        other()
        middle = clock()
        base()
        ratios.append((middle - begin) / (clock() - middle))
    return statistics.median(ratios)


def median_ratio(rounds: list[dict[str, float]], numerator: str, denominator: str) -> float:
    """The median over rounds of ``numerator / denominator`` (both µs per call)."""
    return statistics.median(r[numerator] / r[denominator] for r in rounds)


def latencies_us(fn: Callable[[], Any], count: int) -> list[float]:
    out = []
    for _ in range(count):
        begin = time.perf_counter()
        fn()
        out.append((time.perf_counter() - begin) * 1e6)
    return sorted(out)


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def queries_per_call(fn: Callable[[], Any], count: int = 50) -> dict[str, float]:
    """Database queries each call makes: the median (steady state), mean and max of ``count``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    with CaptureQueriesContext(connection) as captured:
        for _ in range(count):
            before = len(captured)
            fn()
            counts.append(len(captured) - before)
    return {"median": statistics.median(counts), "mean": sum(counts) / count,
            "max": float(max(counts))}


def environ(method: str, path: str, *, body: bytes = b"", query: str = "",
            headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A WSGI environ as a server on 127.0.0.1:8000 would pass it."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def wsgi_call(app: Any, env: dict[str, Any]) -> tuple[str, bytes]:
    """One request through Django's WSGI handler (the whole middleware stack), no sockets."""
    statuses: list[str] = []
    response = app(env, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        content = b"".join(response)
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()  # request_finished: what a WSGI server does after each response
    return statuses[0], content


def token_request(app: Any, client_id: str, secret: str,
                  scope: str = "address") -> Callable[[], None]:
    """A callable that POSTs one client credentials request to ``app`` and expects a 200."""
    body = (f"grant_type=client_credentials&client_id={client_id}"
            f"&client_secret={secret}&scope={scope}").encode()

    def request() -> None:
        status, content = wsgi_call(app, environ("POST", "/oauth/token", body=body))
        assert status.startswith("200"), content

    return request


def setup_django(settings_module: str, db_name: str) -> str:
    """Configure Django with ``settings_module`` on a fresh SQLite file named ``db_name`` (or
    on ``DATABASE_URL`` when set), migrate, and return the database vendor."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if not os.environ.get("DATABASE_URL"):
        path = Path(tempfile.mkdtemp(prefix="oauth-cc-bench-")) / f"{db_name}.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("OAUTH_CC_ISSUER", ISSUER)
    os.environ["DJANGO_DEBUG"] = "0"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return str(connection.vendor)


def arguments(doc: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter loops")
    parser.add_argument("--json", required=True, help="where to write the figures")
    return parser.parse_args()


def write_json(path: str | Path, results: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def rs256_reference() -> dict[str, Callable[[], Any]]:
    """The limits every process pairs its figures with, on a fresh RSA-2048 key: ``raw_sign``
    and ``raw_verify`` (one ``cryptography`` RS256 signature of a token-sized input, and its
    verification) and ``pyjwt_decode`` (one PyJWT ``jwt.decode`` of an RS256 token with its
    key object)."""
    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    message = b"x" * 400
    now = int(time.time())
    claims = {"iss": "https://issuer.test", "aud": "https://issuer.test", "sub": "c",
              "exp": now + 3600, "iat": now, "scope": "address"}
    token = jwt.encode(claims, key, algorithm="RS256")
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "raw_sign": lambda: key.sign(message, padding.PKCS1v15(), hashes.SHA256()),
        "raw_verify": lambda: public.verify(signature, message, padding.PKCS1v15(),
                                            hashes.SHA256()),
        "pyjwt_decode": lambda: jwt.decode(token, public, algorithms=["RS256"],
                                           audience="https://issuer.test"),
    }


def paired(*, vs_sign: dict[str, Callable[[], Any]] | None = None,
           vs_decode: dict[str, Callable[[], Any]] | None = None,
           vs_verify: dict[str, Callable[[], Any]] | None = None,
           others: dict[str, Callable[[], Any]] | None = None,
           ratios: dict[str, tuple[str, str]] | None = None,
           differences: dict[str, tuple[str, str]] | None = None,
           rates: dict[str, tuple[str, tuple[str, ...]]] | None = None, seconds: float,
           rounds: int = 9) -> dict[str, float]:
    """Figures measured in turns with the limits of ``rs256_reference``, round by round.

    For each NAME in ``vs_sign`` (an issuing path): ``NAME_us`` and ``NAME_per_sign``, its
    rate as a fraction of the raw RS256 sign rate (sign µs / NAME µs). For each NAME in
    ``vs_decode`` (a verifying path): ``NAME_us`` and ``NAME_per_decode``, its cost in PyJWT
    RS256 decodes (NAME µs / decode µs); in ``vs_verify``: ``NAME_us`` and
    ``NAME_per_verify``, its cost in raw RS256 verifications. ``others`` are only measured in
    the same turns (``NAME_us``), for ``ratios`` (``{key: (numerator, denominator)}``, µs over
    µs) and ``differences`` (``{key: (a, b)}``, a µs minus b µs) between any two of the
    functions, the limits (``raw_sign``, ``raw_verify``, ``pyjwt_decode``) included;
    ``rates`` (``{key: (name, (limit, ...))}``) is NAME's rate as a fraction of the rate of
    doing all the limits once each (their µs summed over NAME's µs). Each ratio
    or difference is the median of the rounds' own, so it holds while the shared machine's
    speed drifts; ratios between two processes are taken between these normalised figures.
    """
    vs_sign, vs_decode, vs_verify = vs_sign or {}, vs_decode or {}, vs_verify or {}
    medians, per_round = interleaved_us(
        {**rs256_reference(), **vs_sign, **vs_decode, **vs_verify, **(others or {})},
        seconds=seconds, rounds=rounds)
    out = {"raw_sign_us": medians["raw_sign"], "raw_verify_us": medians["raw_verify"],
           "pyjwt_decode_us": medians["pyjwt_decode"],
           "rounds": rounds, "cpu_share": medians["cpu_share"]}
    for name in vs_sign:
        out[f"{name}_us"] = medians[name]
        out[f"{name}_per_sign"] = median_ratio(per_round, "raw_sign", name)
    for name in vs_decode:
        out[f"{name}_us"] = medians[name]
        out[f"{name}_per_decode"] = median_ratio(per_round, name, "pyjwt_decode")
    for name in vs_verify:
        out[f"{name}_us"] = medians[name]
        out[f"{name}_per_verify"] = median_ratio(per_round, name, "raw_verify")
    for name in others or {}:
        out[f"{name}_us"] = medians[name]
    for key, (numerator, denominator) in (ratios or {}).items():
        out[key] = median_ratio(per_round, numerator, denominator)
    for key, (a, b) in (differences or {}).items():
        out[key] = statistics.median(r[a] - r[b] for r in per_round)
    for key, (name, limits) in (rates or {}).items():
        out[key] = statistics.median(sum(r[limit] for limit in limits) / r[name]
                                     for r in per_round)
    return out
