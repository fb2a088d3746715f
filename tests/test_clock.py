"""The one source of time (oauth_cc/clock.py): the wall clock, the monotonic clock, freezing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from oauth_cc import clock
from tests.conftest import T0


def test_unfrozen_it_reads_the_real_clocks():
    before_wall, before_mono = time.time(), time.monotonic()
    wall, mono = clock.now(), clock.monotonic()
    assert before_wall <= wall <= time.time()
    assert before_mono <= mono <= time.monotonic()
    moment = clock.now_datetime()
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert abs(moment.timestamp() - time.time()) < 5


def test_frozen_at_a_timestamp_stands_still():
    with clock.frozen(T0) as frozen:
        assert isinstance(frozen, clock.FrozenClock)
        assert clock.now() == T0
        assert clock.now() == T0
        assert frozen() == T0
        assert clock.now_datetime() == datetime(2026, 1, 1, tzinfo=UTC)
        assert clock.now_datetime().tzinfo is not None
        assert clock.monotonic() == clock.monotonic()


def test_frozen_at_an_aware_datetime():
    with clock.frozen(datetime(2026, 1, 1, 1, tzinfo=UTC)):
        assert clock.now() == T0 + 3600


def test_frozen_with_no_time_freezes_now():
    before = time.time()
    with clock.frozen() as frozen:
        assert before <= clock.now() <= time.time()
        assert clock.now() == frozen.at
        assert clock.now() == clock.now()


def test_an_int_is_kept_as_a_float():
    with clock.frozen(int(T0)):
        assert type(clock.now()) is float


def test_the_frozen_monotonic_clock_starts_where_the_real_one_stands():
    """What a process timed before the freeze keeps its age (a cache made then)."""
    before = time.monotonic()
    with clock.frozen(T0):
        assert before <= clock.monotonic() <= time.monotonic() + 1 / 1024


@pytest.mark.parametrize("real", [1000.1, 123_456.789])
def test_advancing_the_frozen_monotonic_clock_by_whole_seconds_is_exact(monkeypatch, real):
    """A test that waits exactly JWKS_MIN_REFETCH_SECONDS must see exactly that much pass:
    from 1000.1, (1000.1 + 30) - 1000.1 is 29.999999999999886 in floating point."""
    monkeypatch.setattr(time, "monotonic", lambda: real)
    with clock.frozen(T0) as frozen:
        start = clock.monotonic()
        frozen.advance(30)
        assert clock.monotonic() - start == 30
        frozen.advance(0.5)
        assert clock.monotonic() - start == 30.5


def test_advance_moves_both_clocks():
    with clock.frozen(T0) as frozen:
        start = clock.monotonic()
        frozen.advance(90.5)
        assert clock.now() == T0 + 90.5
        assert clock.monotonic() == start + 90.5
        assert clock.now_datetime() == datetime(2026, 1, 1, 0, 1, 30, 500000, tzinfo=UTC)
        frozen.advance(0.25)
        assert clock.now() == T0 + 90.75
        assert clock.monotonic() == start + 90.75


@pytest.mark.parametrize("step", [-3600, 3600])
def test_set_steps_the_wall_clock_only(step):
    with clock.frozen(T0) as frozen:
        start = clock.monotonic()
        frozen.set(T0 + step)
        assert clock.now() == T0 + step
        assert clock.monotonic() == start
        frozen.advance(1)  # time passes from the new wall time
        assert clock.now() == T0 + step + 1
        assert clock.monotonic() == start + 1


def test_nested_freezes_restore_the_outer_one():
    with clock.frozen(T0) as outer:
        outer.advance(10_000)
        outer_mono = clock.monotonic()
        with clock.frozen(T0 - 50) as inner:
            assert clock.now() == T0 - 50
            inner.advance(5)
            assert clock.now() == T0 - 45
        assert clock.now() == T0 + 10_000
        assert clock.monotonic() == outer_mono
        outer.advance(1)  # the outer clock is live again, not a copy
        assert clock.now() == T0 + 10_001
    # The real clocks are back: a frozen one would be 10,001 s off, or stand still at T0.
    assert abs(clock.now() - time.time()) < 5
    assert abs(clock.monotonic() - time.monotonic()) < 5


def test_an_exception_in_the_block_restores_the_clock():
    with pytest.raises(RuntimeError), clock.frozen(T0):
        raise RuntimeError
    assert abs(clock.now() - time.time()) < 5


def test_the_frozen_clock_fixture(frozen_clock):
    assert clock.now() == T0 == frozen_clock()
    frozen_clock.advance(1)
    assert clock.now() == T0 + 1
