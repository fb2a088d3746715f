"""A bounded load of token requests and API calls, every request recorded for later judging.

Threads loop until told to stop or the request budget is spent: now and then a token request
for one of the clients, then one call to the issuer's own API and one to the remote resource
server, each with a token drawn from every token issued so far (so tokens of retired keys
keep being presented). A request that dies with its connection (a worker killed under it) is
counted and retried once.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.system.support import CONNECTION_ERRORS, get, post_form


@dataclass(frozen=True)
class Issued:
    token: str
    client: str  # the test's name for the client: "a", "b", "disabled"
    kid: str
    at: float  # when the request that got it started


@dataclass
class Sample:
    kind: str  # "token", "issuer_api", "rs_api"
    client: str
    start: float
    latency: float
    status: int  # 0: no answer (connection error, twice)
    body: dict[str, Any]
    kid: str = ""
    connection_errors: int = 0
    error: str = ""


@dataclass
class Client:
    name: str
    client_id: str
    secret: str

    @property
    def basic(self) -> str:
        raw = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _segment(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    document = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert isinstance(document, dict)
    return document


def kid_of(token: str) -> str:
    return str(_segment(token, 0)["kid"])


def expiry_of(token: str) -> float:
    return float(_segment(token, 1)["exp"])


@dataclass
class Load:
    issuer_url: str
    rs_url: str
    clients: list[Client]
    issuer_api_path: str
    rs_api_path: str
    threads: int = 4
    max_requests: int = 30_000
    tokens_every: int = 3  # one token request per this many iterations
    samples: list[Sample] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    started_at: float = 0.0
    stopped_at: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self.excluded: set[str] = set()  # clients that get no more token requests
        self.crashes: list[Exception] = []

    # The load's life.

    def start(self) -> None:
        self.started_at = time.monotonic()
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(random.Random(n),), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=30)
        self.stopped_at = time.monotonic()

    def _run(self, rng: random.Random) -> None:
        try:
            iteration = 0
            while not self._stop.is_set() and len(self.samples) < self.max_requests:
                if iteration % self.tokens_every == 0:
                    candidates = [c for c in self.clients if c.name not in self.excluded]
                    self.request_token(rng.choice(candidates))
                iteration += 1
                with self._lock:
                    issued = rng.choice(self.issued) if self.issued else None
                if issued is None:
                    continue
                self.call("issuer_api", self.issuer_url + self.issuer_api_path, issued)
                self.call("rs_api", self.rs_url + self.rs_api_path, issued)
        except Exception as e:  # a bug in the harness: the test reports it
            self.crashes.append(e)

    # Requests, each recorded.

    def request_token(self, client: Client, expires_in: int | None = None,
                      record: bool = True) -> Sample:
        body = "grant_type=client_credentials&scope=address"
        if expires_in is not None:
            body += f"&expires_in={expires_in}"
        sample = self._attempt("token", client.name, lambda: post_form(
            self.issuer_url + "/oauth/token", body, {"Authorization": client.basic}))
        token = sample.body.get("access_token")
        if sample.status == 200 and isinstance(token, str):
            sample.kid = kid_of(token)
            if record:
                with self._lock:
                    self.issued.append(Issued(token, client.name, sample.kid, sample.start))
        if record:
            self._record(sample)
        return sample

    def call(self, kind: str, url: str, issued: Issued) -> Sample:
        sample = self._attempt(kind, issued.client, lambda: get(url, issued.token))
        sample.kid = issued.kid
        self._record(sample)
        return sample

    def _attempt(self, kind: str, client: str, send: Any) -> Sample:
        start = time.monotonic()
        errors = 0
        for _try in range(2):
            try:
                status, body = send()
            except CONNECTION_ERRORS as e:
                errors += 1
                last = f"{type(e).__name__}: {e}"
                continue
            except OSError as e:  # a timeout: not what a killed worker looks like
                return Sample(kind, client, start, time.monotonic() - start, 0, {}, "", errors,
                              f"{type(e).__name__}: {e}")
            return Sample(kind, client, start, time.monotonic() - start, status, body, "",
                          errors)
        return Sample(kind, client, start, time.monotonic() - start, 0, {}, "", errors, last)

    def _record(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def tokens_of(self, client: str) -> list[Issued]:
        with self._lock:
            return [i for i in self.issued if i.client == client]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(load: Load) -> dict[str, Any]:
    """Requests/s, latencies and error counts, overall and per kind of request."""
    duration = load.stopped_at - load.started_at
    figures: dict[str, Any] = {"duration_s": round(duration, 1), "requests": len(load.samples),
                               "requests_per_s": round(len(load.samples) / duration, 1)}
    for kind in ("token", "issuer_api", "rs_api"):
        chosen = [s for s in load.samples if s.kind == kind]
        latencies = [s.latency * 1000 for s in chosen]
        figures[kind] = {
            "count": len(chosen), "per_s": round(len(chosen) / duration, 1),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "5xx": sum(1 for s in chosen if s.status >= 500),
            "connection_errors_retried": sum(s.connection_errors for s in chosen),
            "failed_twice_or_timed_out": sum(1 for s in chosen if s.status == 0),
        }
    return figures
