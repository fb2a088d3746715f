"""The one settings object (oauth_cc/settings.py): defaults, lazy reads, reloads, types."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from oauth_cc.cache import TTLMap
from oauth_cc.settings import DEFAULTS, OAuthCCSettings, oauth_cc_settings

ISSUER = "https://issuer.test"  # the test settings' only OAUTH_CC key
pytestmark = pytest.mark.usefixtures("oauth_cc_defaults")
HINTS = typing.get_type_hints(OAuthCCSettings)


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the annotated type (the few forms the annotations use)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin is Callable or hint is Callable:
        return callable(value)
    assert isinstance(hint, type), hint
    return isinstance(value, hint)


def test_every_setting_has_a_default_and_a_type():
    annotated = {name for name in HINTS if name.isupper()}
    assert annotated == set(DEFAULTS)


@pytest.mark.parametrize("name", sorted(set(DEFAULTS) - {"ISSUER"}))
def test_each_default_is_of_its_declared_type(name):
    assert conforms(DEFAULTS[name], HINTS[name]), (name, DEFAULTS[name], HINTS[name])


def test_the_issuer_is_required_and_has_no_default():
    assert DEFAULTS["ISSUER"] is None
    assert HINTS["ISSUER"] is str  # what callers get once the checks have passed


def test_the_type_check_itself_can_fail():
    assert not conforms("5", int)
    assert not conforms(True, int)
    assert not conforms(["RS256", 1], list[str])
    assert not conforms(None, str | Callable[..., Any])
    assert conforms(3, float) and conforms("x", str | None)


def test_unset_settings_read_their_defaults():
    assert oauth_cc_settings.ISSUER == ISSUER
    for name in set(DEFAULTS) - {"ISSUER"}:
        assert getattr(oauth_cc_settings, name) == DEFAULTS[name], name


def test_a_set_value_is_read_as_given():
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "STATE_TTL_SECONDS": 7,
                                     "ALLOWED_ALGORITHMS": ["ES256"], "REALM": "payments"}):
        assert oauth_cc_settings.STATE_TTL_SECONDS == 7
        assert oauth_cc_settings.ALLOWED_ALGORITHMS == ["ES256"]
        assert oauth_cc_settings.REALM == "payments"
        assert oauth_cc_settings.DEFAULT_EXPIRES_IN == 900  # the others keep their defaults


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="Invalid oauth_cc setting: 'NO_SUCH_SETTING'"):
        oauth_cc_settings.NO_SUCH_SETTING  # noqa: B018
    assert not hasattr(oauth_cc_settings, "lowercase_name")


def test_override_settings_applies_and_is_undone():
    assert oauth_cc_settings.REALM == "api"  # read, so cached, before the override
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "REALM": "inner"}):
        assert oauth_cc_settings.REALM == "inner"
        with override_settings(OAUTH_CC={"ISSUER": ISSUER, "REALM": "innermost"}):
            assert oauth_cc_settings.REALM == "innermost"
        assert oauth_cc_settings.REALM == "inner"
    assert oauth_cc_settings.REALM == "api"


def test_the_pytest_django_settings_fixture_applies(settings):
    assert oauth_cc_settings.JWKS_MAX_AGE == 300
    settings.OAUTH_CC = {"ISSUER": ISSUER, "JWKS_MAX_AGE": 60}
    assert oauth_cc_settings.JWKS_MAX_AGE == 60


def test_no_oauth_cc_setting_at_all(settings):
    del settings.OAUTH_CC
    # Deleting a setting sends no setting_changed (pytest-django's fixture, nor when it puts
    # the setting back: _oauth_cc_defaults then reloads), so this reload is by hand.
    oauth_cc_settings.reload()
    assert oauth_cc_settings.user_settings == {}
    assert oauth_cc_settings.ISSUER is None
    assert oauth_cc_settings.REALM == "api"


@pytest.mark.parametrize("value", [None, ["ISSUER"], "https://issuer.test", 42])
def test_an_oauth_cc_that_is_not_a_dict_reads_as_empty(value):
    with override_settings(OAUTH_CC=value):
        assert oauth_cc_settings.user_settings == {}
        assert oauth_cc_settings.ISSUER is None
        assert oauth_cc_settings.REALM == "api"


def test_values_are_cached_until_a_reload():
    user = {"ISSUER": ISSUER, "REALM": "before"}
    with override_settings(OAUTH_CC=user):
        assert oauth_cc_settings.REALM == "before"
        user["REALM"] = "after"  # changed in place: no setting_changed signal
        assert oauth_cc_settings.REALM == "before"
        with override_settings(DEBUG=True):  # another setting: no reload
            assert oauth_cc_settings.REALM == "before"
        oauth_cc_settings.reload()
        assert oauth_cc_settings.REALM == "after"


@pytest.mark.parametrize(("setting", "value"), [
    ("OAUTH_CC", {"ISSUER": ISSUER}),
    ("SECRET_KEY", "another-secret-key-" + "k" * 40),
    ("SECRET_KEY_FALLBACKS", ["an-old-secret-key-" + "o" * 40]),
    ("CACHES", {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}),
])
def test_settings_that_shape_the_caches_empty_them(setting, value):
    remembered: TTLMap[str, int] = TTLMap(ttl=lambda: 60, limit=None)
    remembered.put("key", 1)
    with override_settings(**{setting: value}):
        assert remembered.get("key") is None
    remembered.put("key", 1)
    with override_settings(DEBUG=not django_settings.DEBUG):
        assert remembered.get("key") == 1


def test_the_audience_is_the_issuer_unless_set():
    assert oauth_cc_settings.audience == ISSUER
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUDIENCE": "https://api.test"}):
        assert oauth_cc_settings.audience == "https://api.test"
        assert oauth_cc_settings.ISSUER == ISSUER


@pytest.mark.parametrize(("issuer", "origin", "path"), [
    ("https://issuer.test", "https://issuer.test", ""),
    ("https://issuer.test/", "https://issuer.test", ""),
    ("https://api.example.com/tenant-a", "https://api.example.com", "tenant-a"),
    ("https://api.example.com/oauth/tenant-a/", "https://api.example.com", "oauth/tenant-a"),
    ("http://localhost:8000", "http://localhost:8000", ""),
])
def test_the_issuers_origin_and_path(issuer, origin, path):
    with override_settings(OAUTH_CC={"ISSUER": issuer}):
        assert oauth_cc_settings.issuer_origin == origin
        assert oauth_cc_settings.issuer_path == path


def test_derived_values_follow_a_reload():
    assert oauth_cc_settings.issuer_origin == ISSUER
    with override_settings(OAUTH_CC={"ISSUER": "https://other.test/x"}):
        assert oauth_cc_settings.issuer_origin == "https://other.test"
        assert oauth_cc_settings.audience == "https://other.test/x"
    assert oauth_cc_settings.audience == ISSUER
