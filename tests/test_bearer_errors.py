"""Errors of protected APIs (oauth_cc/bearer_errors.py): RFC 6750 statuses, challenges, bodies,
and the one setting that decides how they look."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler

from oauth_cc import bearer_errors
from oauth_cc.bearer_errors import BearerError, BearerFailure, ErrorResponse

ISSUER = "https://issuer.test"
pytestmark = pytest.mark.usefixtures("oauth_cc_defaults")
# RFC 6750 §3 / RFC 7235 §2.1: auth-scheme, then auth-params of token="quoted-string".
CHALLENGE = re.compile(r'Bearer [a-z_]+="(?:[^"\\]|\\.)*"(?:, [a-z_]+="(?:[^"\\]|\\.)*")*')
DESCRIPTION_TEXT = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")


def render_teapot(failure: BearerFailure) -> ErrorResponse:
    """A site's own rendering, for the ERROR_RENDERER tests."""
    return ErrorResponse(418, {"message": failure.message, "code": failure.code})


def test_invalid_token():
    error = bearer_errors.invalid_token("The token has expired.")
    assert error.status_code == 401
    assert error.detail == {"error": "invalid_token",
                            "error_description": "The token has expired.",
                            "error_code": "1024"}
    assert error.auth_header == ('Bearer realm="api", error="invalid_token", '
                                 'error_description="The token has expired."')
    assert error.failure.message == "Invalid or expired bearer token"
    assert str(error) == "1024 The token has expired."


def test_project_not_found():
    error = bearer_errors.project_not_found("The token's project no longer exists.")
    assert error.status_code == 401
    assert error.detail["error"] == "invalid_token"
    assert error.detail["error_code"] == "1025"
    assert error.failure.message == "Project not found for bearer token"
    assert 'error="invalid_token"' in error.auth_header


def test_no_credentials_challenges_without_an_error_code():
    """RFC 6750 §3.1: a request without credentials gets no error code."""
    error = bearer_errors.no_credentials()
    assert error.status_code == 401
    assert error.auth_header == 'Bearer realm="api"'
    assert error.detail == {"error_description": "No bearer token was sent.",
                            "error_code": "1024"}


def test_insufficient_scope_is_403_naming_the_scopes():
    error = bearer_errors.insufficient_scope(["address", "phone"])
    assert error.status_code == 403
    assert error.failure.scope == ("address", "phone")
    assert error.detail == {
        "error": "insufficient_scope",
        "error_description": "The token lacks a scope this API requires: address phone",
        "error_code": "1026", "scope": "address phone"}
    assert error.auth_header.endswith(', scope="address phone"')


def test_a_refused_scope_is_403_naming_none():
    error = bearer_errors.scope_refused("This API is not for tokens with the admin scope.")
    assert error.status_code == 403
    assert "scope" not in error.detail
    assert "scope=" not in error.auth_header
    assert error.detail["error"] == "insufficient_scope"


def test_a_dpop_bound_token_is_refused_a_scope_with_a_dpop_challenge():
    from oauth_cc.verification import VerifiedToken

    bound = VerifiedToken({"cnf": {"jkt": "thumbprint"}, "scope": "address"})
    assert bearer_errors.scheme_of(bound) == bearer_errors.DPOP
    assert bearer_errors.scheme_of(VerifiedToken({"scope": "address"})) == bearer_errors.BEARER
    for error in (bearer_errors.insufficient_scope(["phone"], scheme=bearer_errors.DPOP),
                  bearer_errors.scope_refused("Not for admins.", scheme=bearer_errors.DPOP)):
        assert error.status_code == 403
        assert error.auth_header.startswith('DPoP realm="api", error="insufficient_scope"')
        assert 'algs="' in error.auth_header


@pytest.mark.parametrize(("error", "status"), [("invalid_token", 401), (None, 401),
                                               ("insufficient_scope", 403),
                                               ("invalid_request", 401)])
def test_the_status_follows_the_error(error, status):
    assert BearerFailure(error, "1", "m", "d").status == status


def test_a_description_holds_only_what_rfc_6750_allows():
    failure = BearerFailure("invalid_token", "1024", "m",
                            'The kid "k\\1" is unknown\r\nX-Injected: é')
    assert DESCRIPTION_TEXT.fullmatch(failure.description)
    assert failure.description == "The kid 'k/1' is unknown??X-Injected: ?"
    header = bearer_errors.challenge(failure)
    assert CHALLENGE.fullmatch(header)
    assert "\r" not in header and "\n" not in header


def test_the_realm_comes_from_the_settings_and_is_quoted():
    failure = BearerFailure(None, "1024", "m", "d")
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "REALM": 'my "api"\\v2'}):
        header = bearer_errors.challenge(failure)
    assert header == 'Bearer realm="my \\"api\\"\\\\v2"'
    assert CHALLENGE.fullmatch(header)
    assert bearer_errors.challenge(failure) == 'Bearer realm="api"'  # back to the default


def test_every_challenge_is_well_formed():
    for error in (bearer_errors.invalid_token('a "quoted" \\ thing'),
                  bearer_errors.project_not_found("p"), bearer_errors.no_credentials(),
                  bearer_errors.insufficient_scope(["a", "b"]),
                  bearer_errors.scope_refused("r")):
        assert CHALLENGE.fullmatch(error.auth_header), error.auth_header


def test_drf_renders_it_with_its_status_body_and_challenge():
    error = bearer_errors.insufficient_scope(["address"])
    assert isinstance(error, APIException)
    response = exception_handler(error, {})
    assert response is not None
    assert response.status_code == 403
    assert response.data == error.detail
    assert response.data["error_code"] == "1026"  # a str, as sent: not an ErrorDetail list
    assert response["WWW-Authenticate"] == error.auth_header


@pytest.mark.parametrize("renderer", ["tests.test_bearer_errors.render_teapot", render_teapot])
def test_the_error_renderer_setting(renderer):
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "ERROR_RENDERER": renderer}):
        error = bearer_errors.invalid_token("expired")
    assert error.status_code == 418
    assert error.detail == {"message": "Invalid or expired bearer token", "code": "1024"}
    assert error.auth_header is None
    response = exception_handler(error, {})
    assert response is not None and response.status_code == 418
    assert "WWW-Authenticate" not in response
    # The failure itself is unchanged: how it looks is the renderer's alone.
    assert error.failure.error == "invalid_token" and str(error) == "1024 expired"


def test_the_default_renderer_is_rfc6750():
    failure = BearerFailure("invalid_token", "1024", "Invalid", "expired")
    assert bearer_errors.renderer() is bearer_errors.rfc6750
    assert bearer_errors.rfc6750(failure) == ErrorResponse(
        401, {"error": "invalid_token", "error_description": "expired", "error_code": "1024"},
        'Bearer realm="api", error="invalid_token", error_description="expired"')


def test_a_failure_is_frozen():
    failure = BearerFailure("invalid_token", "1024", "m", "d")
    with pytest.raises(AttributeError):
        failure.code = "1"  # type: ignore[misc]
    assert isinstance(BearerError(failure), BearerError)


@pytest.mark.parametrize("make", [bearer_errors.no_credentials,
                                  lambda: bearer_errors.insufficient_scope(["address"])],
                         ids=["no_credentials", "insufficient_scope"])
def test_codes_and_full_details_work_as_on_any_api_exception(make):
    error = make()
    codes = error.get_codes()
    assert isinstance(codes, dict) and set(codes) == set(error.detail)
    assert set(codes.values()) == {error.failure.error or "not_authenticated"}
    details = error.get_full_details()
    assert details["error_description"]["message"] == error.detail["error_description"]
