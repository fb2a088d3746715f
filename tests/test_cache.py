"""TTLMap: the one rule for what a worker remembers (oauth_cc/cache.py)."""

from __future__ import annotations

import gc
import threading

import pytest

from oauth_cc import process_cache
from oauth_cc.cache import TTLMap


@pytest.fixture
def clock(frozen_clock):
    return frozen_clock


def make(ttl: float = 5, limit: int | None = 3) -> TTLMap[str, int]:
    return TTLMap(ttl=lambda: ttl, limit=limit)


def test_an_entry_is_used_until_its_ttl_and_not_after(clock):
    cache = make()
    cache.put("a", 1)
    clock.advance(4.99)
    assert cache.get("a") == 1
    clock.advance(0.01)
    assert cache.get("a") is None
    assert "a" not in cache


def test_an_entry_stored_with_its_own_expiry(clock):
    cache = make(ttl=1000)
    cache.put("a", 1, expires_at=clock.monotonic() + 2)
    clock.advance(1.9)
    assert cache.get("a") == 1
    clock.advance(0.1)
    assert cache.get("a") is None


def test_a_wall_clock_stepped_back_keeps_nothing_longer(clock):
    cache = make()
    cache.put("a", 1)
    clock.set(clock() - 3600)  # the wall clock only
    clock.advance(5)
    assert cache.get("a") is None


def test_the_least_recently_used_entry_goes_when_full(clock):
    cache = make(limit=3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("d", 4)
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == [1, 3, 4]
    assert len(cache) == 3


def test_a_map_without_a_limit_keeps_everything_until_it_expires(clock):
    cache = make(limit=None)
    for i in range(1000):
        cache.put(str(i), i, expires_at=clock.monotonic() + (1 if i % 2 else 10))
    assert len(cache) == 1000
    clock.advance(1)
    cache.purge_expired()
    assert len(cache) == 500
    assert cache.get("0") == 0


def test_get_or_load_loads_once_and_keeps_the_value(clock):
    cache = make()
    calls = []

    def load(key):
        calls.append(key)
        return len(key)

    assert cache.get_or_load("abc", load, remember_missing=False) == 3
    assert cache.get_or_load("abc", load, remember_missing=False) == 3
    assert calls == ["abc"]
    clock.advance(5)
    assert cache.get_or_load("abc", load, remember_missing=False) == 3
    assert calls == ["abc", "abc"]


@pytest.mark.parametrize("remember", [True, False])
def test_a_miss_is_remembered_only_when_asked(clock, remember):
    cache = make()
    calls = []

    def load(key):
        calls.append(key)

    assert cache.get_or_load("x", load, remember_missing=remember) is None
    assert cache.get_or_load("x", load, remember_missing=remember) is None
    assert calls == (["x"] if remember else ["x", "x"])
    assert cache.get("x", default=-1) == -1


def test_a_load_that_raced_a_removal_is_not_stored(clock):
    cache = make()

    def load(key):
        cache.discard(key)  # the change lands while the (old) value is being read
        return 1

    assert cache.get_or_load("a", load, remember_missing=False) == 1
    assert "a" not in cache


def test_put_with_an_old_generation_is_dropped(clock):
    cache = make()
    generation = cache.generation
    cache.discard_where(lambda key, value: value == 0)
    cache.put("a", 1, generation=generation)
    assert cache.get("a") is None
    cache.put("a", 1, generation=cache.generation)
    assert cache.get("a") == 1


def test_discard_where(clock):
    cache = make(limit=None)
    for i in range(6):
        cache.put(str(i), i)
    cache.put_missing("gone")
    cache.discard_where(lambda key, value: value % 2 == 0)
    assert sorted(k for k, _ in cache.items()) == ["1", "3", "5"]
    assert "gone" in cache  # a remembered miss is not a value to test


def test_refresh_runs_once_per_period_in_one_thread(clock):
    cache = make()
    runs = []
    started, release = threading.Event(), threading.Event()

    def slow_refresh():
        runs.append(1)
        started.set()
        release.wait(5)

    first = threading.Thread(target=cache.refresh_if_due, args=(slow_refresh,),
                             kwargs={"every": 5})
    first.start()
    assert started.wait(5)
    waiters = [threading.Thread(target=cache.refresh_if_due, args=(slow_refresh,),
                                kwargs={"every": 5}) for _ in range(4)]
    for thread in waiters:
        thread.start()
    release.set()
    for thread in [first, *waiters]:
        thread.join(5)
    assert runs == [1]  # the waiters found it done
    clock.advance(5)
    cache.refresh_if_due(lambda: runs.append(2), every=5)
    assert runs == [1, 2]


def test_a_failed_refresh_stays_due(clock):
    cache = make()

    def broken():
        raise OSError("down")

    with pytest.raises(OSError):
        cache.refresh_if_due(broken, every=5)
    ran = []
    cache.refresh_if_due(lambda: ran.append(1), every=5)
    assert ran == [1]


def test_clear_all_empties_every_map_and_makes_refresh_due(clock):
    cache = make()
    cache.put("a", 1)
    cache.refresh_if_due(lambda: None, every=60)
    process_cache.clear_all()
    assert cache.get("a") is None
    ran = []
    cache.refresh_if_due(lambda: ran.append(1), every=60)
    assert ran == [1]


def test_the_ttl_is_read_when_storing(clock):
    ttl = [5.0]
    cache: TTLMap[str, int] = TTLMap(ttl=lambda: ttl[0], limit=None)
    cache.put("a", 1)
    ttl[0] = 1.0
    cache.put("b", 2)
    clock.advance(1)
    assert cache.get("a") == 1 and cache.get("b") is None


def test_a_copy_of_the_entries_survives_an_lru_touch_in_the_middle(clock):
    """Copying the entries allocates, an allocation may run the garbage collector, and that
    may run Python code (a finalizer) and so let another thread in, whose LRU touch (taken
    without the lock) reorders the map mid-copy. Simulated here by the collector's own
    callback touching entries, deterministically: the copy must start over, not fail."""
    cache = make(limit=10_000)
    for i in range(2000):
        cache.put(str(i), i)
    touches: list[str] = []

    def touch(phase: str, info: object) -> None:
        if phase == "start" and len(touches) < 9:
            touches.append(str(10 * len(touches)))
            cache.get(touches[-1])  # moves it to the end, as a reader thread's hit does

    threshold = gc.get_threshold()
    gc.callbacks.append(touch)
    gc.set_threshold(1)  # collect on every allocation
    try:
        assert len(list(cache.items())) == 2000
        assert len(cache.keys()) == 2000
        cache.discard_where(lambda key, value: value % 2 == 0)
        cache.purge_expired()
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(touch)
    assert len(touches) == 9 and len(cache) == 1000


def test_removals_while_other_threads_read(clock):
    """Readers reorder the map without the lock (LRU): a removal walking it must not fail."""
    cache = make(limit=10_000)
    for i in range(5000):
        cache.put(str(i), i)
    stop = threading.Event()
    failures = []

    def read():
        while not stop.is_set():
            for i in range(0, 5000, 7):
                cache.get(str(i))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for round_ in range(20):
            try:
                cache.discard_where(lambda key, value, r=round_: value % 20 == r)
                cache.purge_expired()
                list(cache.items())
            except RuntimeError as error:  # "OrderedDict mutated during iteration"
                failures.append(error)
    finally:
        stop.set()
        for thread in readers:
            thread.join(5)
    assert failures == []
