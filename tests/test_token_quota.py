"""The token issuance quota at the token endpoint (CONTRACT §14): past it, 429 ``slow_down``
with ``Retry-After``, an audit event, and nothing minted. The counting itself is
test_quota.py's; two worker processes on Redis are at the end."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from oauth_cc import audit, clock, quota
from tests.helpers import token_request
from tests.test_two_processes import serving, shared_cache  # noqa: F401

pytestmark = pytest.mark.django_db
T0 = 1_800_000_000 - 1_800_000_000 % quota.BUCKET


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen():
    with clock.frozen(T0 + 30) as frozen_clock:
        yield frozen_clock


def statuses(http, client, secret, count):
    return [token_request(http, client.client_id, secret).status_code for _ in range(count)]


def test_no_quota_by_default(http, oauth_client, frozen):
    client, secret = oauth_client
    assert set(statuses(http, client, secret, 30)) == {200}


def test_the_site_quota_refuses_the_token_past_it(http, oauth_client, settings, frozen):
    settings.OAUTH_CC = {**settings.OAUTH_CC, "TOKENS_PER_CLIENT_PER_HOUR": 3}
    client, secret = oauth_client
    assert statuses(http, client, secret, 3) == [200, 200, 200]
    response = token_request(http, client.client_id, secret)
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "slow_down"
    assert "3 tokens an hour" in body["error_description"]
    assert "access_token" not in body
    assert 0 < int(response["Retry-After"]) <= quota.WINDOW + quota.BUCKET
    assert "no-store" in response["Cache-Control"]
    # When Retry-After says, a token fits again.
    frozen.advance(int(response["Retry-After"]))
    assert token_request(http, client.client_id, secret).status_code == 200


def test_a_clients_own_quota_overrides_the_sites(http, make_client, settings, frozen):
    settings.OAUTH_CC = {**settings.OAUTH_CC, "TOKENS_PER_CLIENT_PER_HOUR": 2}
    strict, strict_secret = make_client(tokens_per_hour=1)
    generous, generous_secret = make_client(tokens_per_hour=5)
    ordinary, ordinary_secret = make_client()
    assert statuses(http, strict, strict_secret, 2) == [200, 429]
    assert statuses(http, generous, generous_secret, 6) == [200] * 5 + [429]
    assert statuses(http, ordinary, ordinary_secret, 3) == [200, 200, 429]


def test_a_client_quota_works_without_a_site_quota(http, make_client, frozen):
    client, secret = make_client(tokens_per_hour=2)
    assert statuses(http, client, secret, 3) == [200, 200, 429]


def test_a_quota_set_in_this_process_applies_at_once(http, oauth_client, frozen):
    client, secret = oauth_client
    assert statuses(http, client, secret, 2) == [200, 200]  # not counted: no quota then
    client.tokens_per_hour = 2
    client.save()  # post_save: this worker re-reads the client
    assert statuses(http, client, secret, 3) == [200, 200, 429]


def test_refused_requests_do_not_count(http, make_client, frozen):
    client, secret = make_client(tokens_per_hour=2)
    assert token_request(http, client.client_id, "wrong secret").status_code == 401
    assert token_request(http, client.client_id, secret,
                         scope="not-allowed").status_code == 400
    assert statuses(http, client, secret, 3) == [200, 200, 429]


def test_refusal_is_audited(http, make_client, frozen, caplog):
    client, secret = make_client(tokens_per_hour=1)
    events = []
    receiver = lambda **kwargs: events.append(kwargs)  # noqa: E731
    audit.token_quota_exceeded.connect(receiver)
    try:
        with caplog.at_level(logging.INFO, logger="oauth_cc"):
            statuses(http, client, secret, 2)
    finally:
        audit.token_quota_exceeded.disconnect(receiver)
    (event,) = events
    assert event["client_id"] == client.client_id and event["limit"] == 1
    assert event["retry_after"] >= 1 and event["remote_addr"] == "127.0.0.1"
    (record,) = [r for r in caplog.records
                 if getattr(r, "oauth_cc", {}).get("event") == "token_quota_exceeded"]
    assert record.levelno == logging.WARNING
    assert secret not in record.getMessage()


@pytest.mark.skipif("not __import__('os').environ.get('REDIS_URL')",
                    reason="atomic counting across processes needs Redis (REDIS_URL)")
def test_two_workers_share_one_quota(shared_cache):  # noqa: F811 - the imported fixture
    """Two server processes on one Redis: 12 token requests sent to both at once get exactly
    the client's 5 tokens between them."""
    from tests.test_two_processes import django_shell, post

    env = shared_cache
    client_id, secret = django_shell(env, (
        "from oauth_cc.models import Client; "
        "c, s = Client.objects.create_client('quota', tokens_per_hour=5); "
        "print(c.client_id, s)")).split()
    with serving(env) as bases:
        def request(index: int) -> tuple[int, dict[str, object]]:
            return post(bases[index % 2] + "/oauth/token", {
                "grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret})

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(request, range(12)))
    codes = sorted(code for code, _ in answers)
    assert codes == [200] * 5 + [429] * 7, answers
    assert {body["error"] for code, body in answers if code == 429} == {"slow_down"}
