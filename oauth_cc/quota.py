"""The token issuance quota (CONTRACT §14): at most N tokens per client in a sliding hour.

Clients are told to cache a token and reuse it until it expires; a client that asks for one
per call costs the issuer a signature each time. ``TOKENS_PER_CLIENT_PER_HOUR`` (or the
client's own ``tokens_per_hour``) caps that, across workers, in Django's shared cache.

How the hour slides: issuance is counted in 10-minute buckets, one cache counter each. The
hour before now covers the current bucket, the five before it, and part of a seventh, which
counts in proportion to how much of it is still inside the hour (the "sliding window counter"
of rate limiters; it assumes that bucket's tokens were spread evenly over its ten minutes).

Each token takes its place first, with one atomic ``incr`` of the current bucket, and then
looks whether it fits: of requests racing for the last place, the one whose ``incr`` came
first gets it, and the others give theirs back. The closed buckets no longer change, so each
worker reads them once per bucket and client (``_closed``): a token within the quota costs
one cache operation.
"""

from __future__ import annotations

from oauth_cc import clock, throttle
from oauth_cc.cache import TTLMap
from oauth_cc.exceptions import TooManyAttempts

WINDOW = 3600
BUCKET = 600
BUCKETS = WINDOW // BUCKET  # whole buckets in the hour; one more is partly in it
PREFIX = "oauth_cc:quota:"

# Per worker: a client's closed buckets (oldest first) in the current bucket.
_closed: TTLMap[tuple[str, int], tuple[int, ...]] = TTLMap(ttl=lambda: BUCKET, limit=10_000)


class QuotaExceeded(TooManyAttempts):
    """429 ``slow_down``: the client had its tokens for the hour (``Retry-After`` says when
    the next one fits)."""

    default_description = ("This client has had all the tokens it may get in an hour: cache "
                           "each token and reuse it until it expires.")


def take(client_id: str, limit: int, *, now: float | None = None) -> None:
    """Count one token for ``client_id``, or raise ``QuotaExceeded`` (counting nothing) if
    ``limit`` tokens were issued to it in the hour before ``now``."""
    now = clock.now() if now is None else now
    current = int(now // BUCKET)
    key = _key(client_id, current)
    in_current = throttle.count(key, WINDOW + 2 * BUCKET)  # lives the hour it counts in, +1
    closed = _closed_buckets(client_id, current, now)
    counts = (*closed, in_current)
    # Every bucket counts at most in full: when even that fits, the weighing can be skipped.
    if sum(counts) > limit and used(counts, current, now) > limit:
        throttle.uncount(key)
        counted = (*closed, in_current - 1)  # without this request's place, given back
        raise QuotaExceeded(retry_after(counted, current, now, limit),
                            f"This client may get {limit} tokens an hour, and has had them: "
                            "cache each token and reuse it until it expires.")


def used(counts: tuple[int, ...], current: int, at: float) -> float:
    """Tokens counted in the hour before ``at``: ``counts`` are the buckets from
    ``current - BUCKETS`` (the one partly in the hour) to ``current``."""
    start = at - WINDOW
    total = 0.0
    for offset, count in enumerate(counts):
        bucket_end = (current - BUCKETS + offset + 1) * BUCKET
        total += count * min(1.0, max(0.0, (bucket_end - start) / BUCKET))
    return total


def retry_after(counts: tuple[int, ...], current: int, now: float, limit: int) -> int:
    """Seconds until one more token fits, if no other is issued meanwhile (at least 1)."""
    low, high = 0, WINDOW + BUCKET  # by then every counted token has left the hour
    while low < high:  # the count only falls as time passes: the first second it fits
        middle = (low + high) // 2
        if used(counts, current, now + middle) + 1 <= limit:
            high = middle
        else:
            low = middle + 1
    return max(1, low)


def _closed_buckets(client_id: str, current: int, now: float) -> tuple[int, ...]:
    remembered = _closed.get((client_id, current))
    if remembered is not None:
        return remembered
    keys = [_key(client_id, bucket) for bucket in range(current - BUCKETS, current)]
    found = throttle.shared_cache().get_many(keys)
    counts = tuple(max(0, int(found.get(key, 0))) for key in keys)
    until = (current + 1) * BUCKET - now  # until this bucket ends
    _closed.put((client_id, current), counts,
                expires_at=clock.monotonic() + max(0.0, min(float(BUCKET), until)))
    return counts


def _key(client_id: str, bucket: int) -> str:
    return f"{PREFIX}{bucket}:{client_id}"

