"""oauth_cc.published_urls: the token endpoint's URL as the metadata publishes it, kept per
(ISSUER, URLconf) because reverse() is costly on the token and DPoP paths."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, include, path, set_urlconf

from oauth_cc import published_urls
from tests.helpers import record_calls

urlpatterns = [path("auth/", include("oauth_cc.urls"))]


@pytest.mark.django_db
def test_the_issuer_origin_and_the_mount_path(http):
    assert published_urls.token_endpoint_url() == "https://issuer.test/oauth/token"
    with override_settings(OAUTH_CC={"ISSUER": "https://api.example.com/tenant-a"}):
        assert published_urls.token_endpoint_url() == "https://api.example.com/oauth/token"
        with override_settings(ROOT_URLCONF=__name__):
            assert published_urls.token_endpoint_url() == \
                "https://api.example.com/auth/oauth/token"
            body = http.get("/auth/.well-known/oauth-authorization-server").json()
            assert body["token_endpoint"] == published_urls.token_endpoint_url()
    assert published_urls.token_endpoint_url() == "https://issuer.test/oauth/token"


def test_reverse_runs_once_per_issuer_and_urlconf(monkeypatch):
    calls = record_calls(monkeypatch, published_urls, "reverse")
    published_urls._token_endpoints.clear()
    for _ in range(3):
        published_urls.token_endpoint_url()
    assert calls == ["oauth_cc:token"]
    set_urlconf(__name__)  # as a request with its own request.urlconf
    try:
        assert published_urls.token_endpoint_url() == "https://issuer.test/auth/oauth/token"
    finally:
        set_urlconf(None)
    assert len(calls) == 2
    assert published_urls.token_endpoint_url() == "https://issuer.test/oauth/token"
    assert len(calls) == 2


def test_a_site_that_does_not_mount_the_endpoints_has_no_url():
    with override_settings(ROOT_URLCONF="tests.test_openapi"), pytest.raises(NoReverseMatch):
        published_urls.token_endpoint_url()
