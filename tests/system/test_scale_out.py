"""Issue #7: several issuer workers over one PostgreSQL and one Redis, plus a remote API.

Under a bounded load of token requests and API calls (``load``) against the deployment of
``conftest`` (the issuer: gunicorn, two workers; a resource server in remote mode), the
signing key is rotated twice, an issuer worker is killed (its master respawns it) and a
client is disabled. Then:

- no valid token is refused, by either server, and nothing answers 5xx; a request cut by the
  killed worker is counted and retried once, and the retry succeeds;
- the key that starts signing was published before; from STATE_TTL_SECONDS after a rotation
  every worker signs with it; tokens of the retired keys stay valid everywhere;
- the disabled client's new token requests are refused (401 ``invalid_client``) at once and
  its tokens by every issuer worker within STATE_TTL_SECONDS (polled to that + 2 s); the
  remote resource server, which has no database, accepts them until they expire.

Prints requests/s, p50/p99 latencies and error counts. About 45 s on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass

import pytest

from tests.system.conftest import ISSUER_API, RS_API, Deployment
from tests.system.load import Issued, Load, Sample, expiry_of, summary
from tests.system.support import get, manage
from tests.system.timing import (
    JWKS_MAX_AGE,
    ROTATION_INTERVAL,
    RS_JWKS_MIN_REFETCH_SECONDS,
    RS_LEEWAY_SECONDS,
    STATE_TTL_SECONDS,
)

pytestmark = pytest.mark.system

LOAD_SECONDS = 24
MARGIN = 0.5  # beyond STATE_TTL_SECONDS: a worker's reload query, scheduling on two cores
SHORT_LIFETIME = 12  # a token of the disabled client that expires during the run
DISABLED = "disabled"


def refused_by_issuer(status: int, body: dict[str, object]) -> bool:
    """The demo API's refusal of an invalid token: the seed format, code 1024."""
    return status == 400 and body.get("error_code") == "1024"


def published_kids(issuer_url: str) -> set[str]:
    status, document = get(issuer_url + "/.well-known/jwks.json")
    assert status == 200, document
    return {key["kid"] for key in document["keys"]}


@dataclass
class Rotation:
    kid: str
    published_before: set[str]
    started: float
    done: float


@dataclass
class Disable:
    started: float
    committed: float
    refused_grant: Sample
    grant_refused: float  # seconds after the commit, as are the next three
    first_refused: float
    last_accepted: float | None
    rs_accepted_short_at: float  # time.time() when the remote server accepted it
    short: Issued


class Scenario:
    """What happens to the deployment during the load; times in seconds since it started."""

    def __init__(self, deployment: Deployment, load: Load) -> None:
        self.d = deployment
        self.load = load

    def now(self) -> float:
        return time.monotonic() - self.load.started_at

    def sleep_until(self, moment: float) -> None:
        time.sleep(max(0.0, moment - self.now()))

    def rotate(self) -> Rotation:
        before = published_kids(self.d.issuer.url)
        started = self.now()
        kid = manage(self.d.env, "rotate_signing_key").splitlines()[-1]
        return Rotation(kid, before, started, self.now())

    def kill_a_worker(self) -> tuple[float, float]:
        """SIGKILL one issuer worker: when, and how long until the master forked another."""
        issuer = self.d.issuer
        workers = issuer.worker_pids()
        assert len(workers) == issuer.workers, workers
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        killed_at = self.now()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = issuer.worker_pids()
            if victim not in now and len(now) == issuer.workers:
                return killed_at, self.now() - killed_at
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not respawn the killed worker:\n{issuer.log_tail()}")

    def disable(self) -> Disable:
        d, load = self.d, self.load
        client = next(c for c in d.clients if c.name == DISABLED)
        short = load.request_token(client, expires_in=SHORT_LIFETIME, record=False)
        assert short.status == 200, short
        short_token = Issued(short.body["access_token"], DISABLED, short.kid, short.start)
        load.excluded.add(DISABLED)
        started = self.now()
        committed_at = float(manage(
            d.env, "shell", "--no-imports", "-c",
            "import time; from oauth_cc.models import Client; "
            f"c = Client.objects.get(client_id={client.client_id!r}); "
            "c.is_active = False; c.save(); print(time.time())"))  # autocommit: saved = committed
        committed = self.now() - (time.time() - committed_at)
        # Token requests: each worker re-reads the client within STATE_TTL_SECONDS (at once
        # only in the process that made the change). Polled to the same deadline.
        refused_grant = load.request_token(client, record=False)
        while refused_grant.status == 200 and self.now() < committed + STATE_TTL_SECONDS + 2:
            time.sleep(0.05)
            refused_grant = load.request_token(client, record=False)
        grant_refused = self.now() - committed
        tokens = [*load.tokens_of(DISABLED), short_token]
        # Poll (not sleep), to a deadline, a token of each key and the newest ones, until every
        # worker must have noticed and the issuer refuses them all. The load goes on presenting
        # all the others (judged afterwards).
        watched = [*{i.kid: i for i in tokens}.values(), *tokens[-3:]]
        first_refused = last_accepted = rs_accepted_short_at = None
        accepted = True
        while accepted and self.now() < committed + STATE_TTL_SECONDS + 2:
            accepted = False
            for issued in watched:
                at = self.now() - committed
                if refused_by_issuer(*get(d.issuer.url + ISSUER_API, issued.token)):
                    first_refused = at if first_refused is None else first_refused
                    if issued is short_token and rs_accepted_short_at is None:
                        # Refused by the issuer, and now presented to the remote server.
                        status, body = get(d.resource_server.url + RS_API, issued.token)
                        assert status == 200, ("the remote resource server refused a token of "
                                               f"the disabled client: {status} {body}")
                        rs_accepted_short_at = time.time()
                else:
                    accepted, last_accepted = True, at
            accepted = accepted or self.now() < committed + STATE_TTL_SECONDS + MARGIN
            time.sleep(0.05)
        assert not accepted, ("the issuer still accepts the disabled client's tokens "
                              f"{self.now() - committed:.1f} s after it was disabled")
        assert first_refused is not None
        assert rs_accepted_short_at is not None
        # Remote mode's documented trade-off: no database, so its tokens stay accepted.
        for issued in [i for i in watched if i is not short_token]:
            status, body = get(d.resource_server.url + RS_API, issued.token)
            assert status == 200, ("the remote resource server refused a token of the "
                                   f"disabled client: {status} {body}")
        for issued in tokens:
            assert refused_by_issuer(*get(d.issuer.url + ISSUER_API, issued.token)), issued
        return Disable(started, committed, refused_grant, grant_refused, first_refused,
                       last_accepted, rs_accepted_short_at, short_token)


def test_issuer_workers_and_remote_api_under_rotation_disable_and_a_killed_worker(
        deployment: Deployment) -> None:
    d = deployment
    load = Load(d.issuer.url, d.resource_server.url, d.clients, ISSUER_API, RS_API)
    for client in d.clients:  # the first signing key is created here, on first use
        assert load.request_token(client).status == 200
    first_kid = load.issued[0].kid
    scenario = Scenario(d, load)
    load.start()
    try:
        scenario.sleep_until(2)
        first = scenario.rotate()
        scenario.sleep_until(5)
        killed_at, respawn_s = scenario.kill_a_worker()
        scenario.sleep_until(first.done + ROTATION_INTERVAL)
        second = scenario.rotate()
        scenario.sleep_until(second.done + 1)
        disable = scenario.disable()
        scenario.sleep_until(LOAD_SECONDS)
    finally:
        load.stop()

    # The disabled client's short-lived token: accepted remotely until it expires, not after.
    expires = expiry_of(disable.short.token)
    rs_refused_at = None
    while rs_refused_at is None and time.time() < expires + RS_LEEWAY_SECONDS + 2:
        if get(d.resource_server.url + RS_API, disable.short.token)[0] == 401:
            rs_refused_at = time.time()
        time.sleep(0.1)

    report(load, d, first, second, killed_at, respawn_s, disable)

    assert not load.crashes, load.crashes
    assert disable.refused_grant.status == 401, disable.refused_grant
    assert disable.refused_grant.body.get("error") == "invalid_client", disable.refused_grant
    assert disable.grant_refused <= STATE_TTL_SECONDS + MARGIN, disable.grant_refused
    assert disable.rs_accepted_short_at < expires
    assert rs_refused_at is not None, "the remote resource server accepts an expired token"
    assert rs_refused_at >= expires
    # Rotation: the key that starts signing was published before; every key stays published.
    assert first.kid in first.published_before, first
    assert second.kid in second.published_before, second
    kids = {first_kid, first.kid, second.kid}
    assert len(kids) == 3
    assert kids <= published_kids(d.issuer.url)
    assert {i.kid for i in load.issued if i.client != DISABLED} == kids
    for name in ("issuer.log", "resource_server.log"):
        log = (d.issuer if name == "issuer.log" else d.resource_server).log_tail(100_000)
        assert "Traceback" not in log, f"{name}:\n{log[-3000:]}"

    problems = judge(load, first, second, first_kid, killed_at, disable)
    for kid in kids:  # and last, a token of each key on both servers
        issued = next(i for i in load.issued if i.kid == kid and i.client != DISABLED)
        for url in (d.issuer.url + ISSUER_API, d.resource_server.url + RS_API):
            status, body = get(url, issued.token)
            if status != 200:
                problems.append(f"final check: {url} refused a token of key {kid}: {body}")
    assert not problems, "\n".join(problems[:30]) + f"\n({len(problems)} problem(s))"


def judge(load: Load, first: Rotation, second: Rotation, first_kid: str, killed_at: float,
          disable: Disable) -> list[str]:
    """Every recorded request against what the design promises; a list of the failures.

    Requests of the enabled clients, and of the disabled one until the disable started, must
    succeed (any token, any key). From STATE_TTL_SECONDS + MARGIN after the commit the issuer
    must refuse the disabled client's tokens; the remote resource server must accept them
    throughout. A token requested from STATE_TTL_SECONDS + MARGIN after a rotation must be
    signed by the new key. Connection errors may come only from the issuer, around the kill.
    """
    problems = []
    settled = STATE_TTL_SECONDS + MARGIN
    for s in load.samples:
        at = s.start - load.started_at
        where = f"{s.kind} of client {s.client} at {at:.2f} s (kid {s.kid[:8]})"
        if s.status == 0:
            problems.append(f"{where}: no answer: {s.error}")
            continue
        if s.status >= 500:
            problems.append(f"{where}: {s.status} {s.body}")
        if s.connection_errors and (s.kind == "rs_api" or abs(at - killed_at) > 2):
            problems.append(f"{where}: a connection error away from the killed worker")
        refusable = s.client == DISABLED and at >= disable.started and s.kind != "rs_api"
        if s.kind == "issuer_api" and s.client == DISABLED and at >= disable.committed + settled:
            if not refused_by_issuer(s.status, s.body):
                problems.append(f"{where}: the disabled client's token was accepted "
                                f"{at - disable.committed:.2f} s after the commit")
        elif s.status != 200 and not refusable:
            problems.append(f"{where}: VALID TOKEN OR REQUEST REFUSED: {s.status} {s.body}")
        if s.kind == "token" and s.status == 200:
            if at < first.started:
                expected = first_kid
            elif first.done + settled <= at < second.started:
                expected = first.kid
            elif at >= second.done + settled:
                expected = second.kid
            else:
                continue  # a worker may still sign with the key just retired: it is published
            if s.kid != expected:
                problems.append(f"{where}: signed by {s.kid}, not by the active {expected}")
    return problems


def report(load: Load, d: Deployment, first: Rotation, second: Rotation, killed_at: float,
           respawn_s: float, disable: Disable) -> None:
    after = [s for s in load.samples
             if s.client == DISABLED and s.start - load.started_at >= disable.committed]
    accepted = [s.start - load.started_at - disable.committed for s in after
                if s.kind == "issuer_api" and s.status == 200]
    if disable.last_accepted is not None:
        accepted.append(disable.last_accepted)
    print("\nSYSTEM figures:", json.dumps(summary(load), indent=1))
    print(f"SYSTEM settings: STATE_TTL {STATE_TTL_SECONDS} s, JWKS_MAX_AGE {JWKS_MAX_AGE} s, "
          f"resource server JWKS_MIN_REFETCH {RS_JWKS_MIN_REFETCH_SECONDS} s; rotations "
          f"{ROTATION_INTERVAL} s apart")
    print(f"SYSTEM events (s since the load started): rotation 1 {first.started:.1f}-"
          f"{first.done:.1f}, worker killed at {killed_at:.1f} (another forked "
          f"{respawn_s:.2f} s later), rotation 2 {second.started:.1f}-{second.done:.1f}, "
          f"disable {disable.started:.1f}, committed {disable.committed:.1f}")
    print(f"SYSTEM disabled client, after the commit: new token requests "
          f"{disable.refused_grant.status} {disable.refused_grant.body.get('error')} from "
          f"+{disable.grant_refused:.2f} s (bound {STATE_TTL_SECONDS} s); the issuer "
          f"refused its tokens from +{disable.first_refused:.2f} s, accepted the last at "
          f"+{max(accepted, default=0.0):.2f} s (bound {STATE_TTL_SECONDS} s), refusing "
          f"{sum(1 for s in after if s.kind == 'issuer_api' and s.status != 200)} calls; the "
          f"remote resource server accepted "
          f"{sum(1 for s in after if s.kind == 'rs_api' and s.status == 200)} (until expiry)")
    print("SYSTEM remote JWKS fetches that failed (last good keys kept):",
          d.resource_server.log_tail(100_000).count("Keeping the"))
