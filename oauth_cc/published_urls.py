"""The URL of the token endpoint as this server publishes it (RFC 8414 metadata): the
issuer's origin and the path where ``oauth_cc.urls`` mounts the endpoint.

Clients name it in what they sign (a client assertion's ``aud``, a DPoP proof's ``htu``) and
read it from the metadata, the portal and the OpenAPI schema; all of them get it here.
``reverse()`` costs about as much as verifying a signature, so the URL is kept by (ISSUER,
the URLconf in use): a URLconf may be set per request (``request.urlconf``); there are few.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_urlconf, reverse

from oauth_cc.cache import TTLMap
from oauth_cc.settings import oauth_cc_settings

_token_endpoints: TTLMap[tuple[str, object], str] = TTLMap(ttl=lambda: math.inf, limit=16)


def token_endpoint_url() -> str:
    """``https://issuer.example/oauth/token``, or whatever this site mounts. Raises
    ``NoReverseMatch`` where ``oauth_cc.urls`` is not mounted (a resource server)."""
    key = (oauth_cc_settings.ISSUER, get_urlconf())
    url = _token_endpoints.get(key)
    if url is None:
        url = oauth_cc_settings.issuer_origin + reverse("oauth_cc:token")
        _token_endpoints.put(key, url)
    return url


@receiver(setting_changed)
def _urls_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _token_endpoints.clear()
