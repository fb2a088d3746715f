"""The token issuance quota's counting (``oauth_cc.quota``); the token endpoint's use of it is
in test_token_quota.py."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from oauth_cc import clock, process_cache, quota

# The start of a 10-minute bucket, so that tests can say where in it they are.
T0 = 1_800_000_000 - 1_800_000_000 % quota.BUCKET


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    process_cache.clear_all()
    yield
    cache.clear()


def take_all(client_id: str, limit: int, count: int, at: float) -> int:
    """How many of ``count`` tokens ``take`` allowed at ``at``."""
    allowed = 0
    for _ in range(count):
        try:
            quota.take(client_id, limit, now=at)
            allowed += 1
        except quota.QuotaExceeded:
            pass
    return allowed


def test_a_client_gets_its_quota_and_no_more():
    assert take_all("c", 5, 8, T0 + 10) == 5
    with pytest.raises(quota.QuotaExceeded) as refused:
        quota.take("c", 5, now=T0 + 11)
    assert refused.value.status_code == 429 and refused.value.error == "slow_down"
    assert "5 tokens an hour" in refused.value.description


def test_clients_are_counted_apart():
    assert take_all("a", 3, 3, T0) == 3
    assert take_all("b", 3, 3, T0) == 3


def test_refusals_are_not_counted():
    assert take_all("c", 2, 50, T0) == 2
    # An hour later the two tokens have left the window; the 48 refusals never counted.
    assert take_all("c", 2, 2, T0 + quota.WINDOW + quota.BUCKET) == 2


def test_the_hour_slides():
    # 6 tokens in the first minute of a bucket, 4 forty minutes later: limit 10.
    assert take_all("c", 10, 6, T0 + 60) == 6
    assert take_all("c", 10, 4, T0 + 2400) == 4
    assert take_all("c", 10, 1, T0 + 3000) == 0  # all ten are within the hour
    # The first bucket leaves the hour over the ten minutes after T0 + 3600: counted in
    # proportion, so at its middle half its 6 tokens still count (3 + 4 = 7 of 10).
    assert quota.used((6, 0, 0, 0, 4, 0, 0), int((T0 + 3900) // quota.BUCKET),
                      T0 + 3900) == pytest.approx(7.0)
    assert take_all("c", 10, 5, T0 + 3900) == 3
    # Once the first bucket is out of the hour only the later tokens count.
    assert take_all("c", 10, 10, T0 + 4300) == 3


def test_retry_after_says_when_the_next_token_fits():
    now = T0 + 120
    assert take_all("c", 4, 4, now) == 4
    with pytest.raises(quota.QuotaExceeded) as refused:
        quota.take("c", 4, now=now)
    wait = refused.value.retry_after
    # The four tokens leave the hour during the bucket that starts an hour after theirs.
    assert quota.WINDOW - 120 < wait <= quota.WINDOW - 120 + quota.BUCKET
    with pytest.raises(quota.QuotaExceeded):
        quota.take("c", 4, now=now + wait - 1)
    quota.take("c", 4, now=now + wait)


def test_racing_requests_get_exactly_the_quota():
    limit, allowed = 10, []
    start = threading.Barrier(30)

    def request() -> None:
        start.wait()
        try:
            quota.take("c", limit, now=T0 + 5)
            allowed.append(1)
        except quota.QuotaExceeded:
            pass

    threads = [threading.Thread(target=request) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == limit
    assert take_all("c", limit, 1, T0 + 6) == 0


def test_a_token_within_the_quota_costs_one_cache_operation(monkeypatch):
    quota.take("c", 100, now=T0 + 1)  # reads the closed buckets once for this bucket
    calls = []
    for name in ("get", "get_many", "incr", "add", "set", "decr"):
        real = getattr(cache, name)
        monkeypatch.setattr(cache, name, lambda *a, _real=real, _name=name, **k: (
            calls.append(_name), _real(*a, **k))[1])
    quota.take("c", 100, now=T0 + 2)
    assert calls == ["incr"]


def test_the_clock_comes_from_oauth_cc():
    with clock.frozen(T0 + 30):
        assert take_all("c", 1, 2, clock.now()) == 1
        with pytest.raises(quota.QuotaExceeded):
            quota.take("c", 1)
