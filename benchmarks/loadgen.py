"""A small, bounded HTTP/1.1 load generator for loopback servers (asyncio, standard library).

    python -m benchmarks.loadgen http://127.0.0.1:8000/.well-known/jwks.json \\
        [--method POST --data 'a=b' --header 'Authorization: Bearer ...'] \\
        [--concurrency 16 --duration 10 --max-requests 20000]

Every run stops by itself: after ``duration`` seconds or ``max_requests`` requests, whichever
comes first, and each request gives up after ``request_timeout`` seconds. Only loopback
addresses are accepted. Each request opens its own connection (``Connection: close``): that
is what gunicorn's default sync workers do anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_DURATION = 60.0
MAX_REQUESTS = 100_000


@dataclass
class LoadResult:
    completed: int = 0
    errors: int = 0  # connection failures and time-outs
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0  # this process's CPU time: the load generator's own cost
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self, expected_status: int = 200) -> dict[str, float | int | dict[str, int]]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")

        good = self.statuses.get(expected_status, 0)
        return {
            "requests": self.completed, "ok": good, "errors": self.errors,
            "unexpected_status": self.completed - good,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": self.elapsed_s,
            "per_s": good / self.elapsed_s if self.elapsed_s else 0.0,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": lat[-1] if lat else float("nan"),
            "client_cpu_us_per_request": (self.client_cpu_s / self.completed * 1e6
                                          if self.completed else float("nan")),
        }


def build_request(url: str, *, method: str = "GET", body: bytes = b"",
                  headers: dict[str, str] | None = None) -> tuple[str, int, bytes]:
    """``(host, port, raw request bytes)`` for ``url``; refuses anything but loopback http."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ValueError(f"loopback http URLs only, not {url!r}")
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.hostname}:{port}",
             "Connection: close", "User-Agent: oauth-cc-bench"]
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded",
                  f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    return str(parts.hostname), port, raw


class _Exchange(asyncio.Protocol):
    """One request on its own connection; ``done`` gets the status code when the server
    closes the connection after the response (``Connection: close``).

    A protocol rather than asyncio streams: about half the client CPU per request, which
    matters when the client shares two cores with the server.
    """

    def __init__(self, raw: bytes, done: asyncio.Future[int]) -> None:
        self.raw, self.done, self.head = raw, done, b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.raw)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if len(self.head) < 16:
            self.head += data[:16]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if exc is not None:
            self.done.set_exception(exc)
        else:
            try:
                status = int(self.head.split(b" ", 2)[1])
            except (IndexError, ValueError):
                self.done.set_exception(ValueError(f"not an HTTP response: {self.head!r}"))
            else:
                self.done.set_result(status)


async def _one(host: str, port: int, raw: bytes) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    transport, _ = await loop.create_connection(lambda: _Exchange(raw, done), host, port)
    try:
        return await done
    finally:
        transport.close()


async def _run(host: str, port: int, raw: bytes, concurrency: int, duration: float,
               max_requests: int, request_timeout: float) -> LoadResult:
    result = LoadResult()
    issued = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + duration

    async def worker() -> None:
        nonlocal issued
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            begin = time.perf_counter()
            try:
                status = await asyncio.wait_for(_one(host, port, raw), request_timeout)
            except (TimeoutError, OSError, ValueError, IndexError):
                result.errors += 1
                continue
            result.latencies_ms.append((time.perf_counter() - begin) * 1e3)
            result.completed += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - started
    result.client_cpu_s = time.process_time() - cpu_started
    return result


def run_load(url: str, *, method: str = "GET", body: bytes = b"",
             headers: dict[str, str] | None = None, concurrency: int = 16,
             duration: float = 10.0, max_requests: int = 20_000,
             request_timeout: float = 30.0) -> LoadResult:
    """Send requests to ``url`` from ``concurrency`` connections until the time or count bound."""
    if not (0 < duration <= MAX_DURATION and 0 < max_requests <= MAX_REQUESTS
            and 0 < concurrency <= 256):
        raise ValueError("duration, max_requests or concurrency out of bounds")
    host, port, raw = build_request(url, method=method, body=body, headers=headers)
    return asyncio.run(_run(host, port, raw, concurrency, duration, max_requests,
                            request_timeout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--data", default="", help="a form-encoded body")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    result = run_load(args.url, method=args.method, body=args.data.encode(),
                      headers={k.strip(): v.strip() for k, v in headers.items()},
                      concurrency=args.concurrency, duration=args.duration,
                      max_requests=args.max_requests)
    print(json.dumps(result.summary(), indent=2))


if __name__ == "__main__":
    main()
