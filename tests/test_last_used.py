"""``Client.last_used_at`` (oauth_cc/last_used.py): written at most once a minute per client
and process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models.signals import post_save

from oauth_cc import last_used, process_cache
from oauth_cc.models import Client

pytestmark = pytest.mark.django_db

T0_DATETIME = datetime(2026, 1, 1, tzinfo=UTC)


def used_at(client: Client) -> datetime | None:
    return Client.objects.values_list("last_used_at", flat=True).get(pk=client.pk)


@pytest.fixture
def client(make_client: Callable[..., tuple[Client, str]]) -> Client:
    return make_client()[0]


def test_the_first_use_is_written_with_the_clock_time(client, frozen_clock,
                                                      django_assert_num_queries):
    assert used_at(client) is None
    with django_assert_num_queries(1):
        last_used.touch(client.pk)
    assert used_at(client) == T0_DATETIME


def test_uses_within_a_minute_write_nothing(client, frozen_clock, django_assert_num_queries):
    last_used.touch(client.pk)
    frozen_clock.advance(last_used.INTERVAL_SECONDS - 0.01)
    with django_assert_num_queries(0):
        for _ in range(10):
            last_used.touch(client.pk)
    assert used_at(client) == T0_DATETIME
    frozen_clock.advance(0.01)
    with django_assert_num_queries(1):
        last_used.touch(client.pk)
    assert used_at(client) == T0_DATETIME + timedelta(seconds=60)


def test_each_client_is_written_on_its_own(make_client, frozen_clock,
                                           django_assert_num_queries):
    first, second = make_client()[0], make_client()[0]
    last_used.touch(first.pk)
    frozen_clock.advance(1)
    with django_assert_num_queries(1):
        last_used.touch(second.pk)
    assert used_at(first) == T0_DATETIME
    assert used_at(second) == T0_DATETIME + timedelta(seconds=1)


def test_a_wall_clock_stepped_back_does_not_delay_the_next_write(client, frozen_clock):
    last_used.touch(client.pk)
    frozen_clock.set(frozen_clock() - 3600)  # the wall clock only
    frozen_clock.advance(last_used.INTERVAL_SECONDS)
    last_used.touch(client.pk)
    assert used_at(client) == T0_DATETIME - timedelta(seconds=3600 - 60)


def test_clearing_the_process_caches_writes_again(client, frozen_clock,
                                                  django_assert_num_queries):
    last_used.touch(client.pk)
    process_cache.clear_all()
    with django_assert_num_queries(1):
        last_used.touch(client.pk)


def test_only_the_column_is_written_and_no_signal_is_sent(client, frozen_clock):
    """No post_save: it would drop the client from every cache on each token request."""
    saved: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        saved.append(kwargs)

    post_save.connect(receiver, sender=Client)
    try:
        stale = Client.objects.get(pk=client.pk)
        Client.objects.filter(pk=client.pk).update(name="renamed elsewhere")
        last_used.touch(stale.pk)
    finally:
        post_save.disconnect(receiver, sender=Client)
    assert saved == []
    assert Client.objects.get(pk=client.pk).name == "renamed elsewhere"


def test_an_unknown_client_is_no_error(db, frozen_clock):
    last_used.touch(999_999)
    assert not Client.objects.filter(pk=999_999).exists()
