"""Errors of protected APIs (RFC 6750), and the one place that decides how they look.

Every failure of ``BearerJWTAuthentication`` or ``HasScope`` is a ``BearerError`` carrying an
RFC 6750 error (``invalid_token``, ``insufficient_scope``, or none when no credentials were
sent) and an API error code: ``1024`` ("Invalid or expired bearer token") or ``1025``
("Project not found for bearer token").

A request that sent a DPoP-bound token (RFC 9449), or used the ``DPoP`` scheme, is refused
with ``scheme`` ``"DPoP"``: its challenge is ``DPoP ..., algs="..."`` (RFC 9449 §7.1), and
a renderer may tell it apart.

How it is rendered is decided by one callable, ``OAUTH_CC["ERROR_RENDERER"]`` (a dotted path;
default ``oauth_cc.bearer_errors.rfc6750``), which turns the error into an ``ErrorResponse``. The
exception is a plain DRF ``APIException``, so DRF's own exception handler renders it with that
status, body and ``WWW-Authenticate`` header; no ``EXCEPTION_HANDLER`` change is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import import_string
from rest_framework.exceptions import APIException

from oauth_cc.exceptions import description_text
from oauth_cc.settings import oauth_cc_settings

INVALID_TOKEN_CODE = "1024"  # noqa: S105 - an error code, not a password
INVALID_TOKEN_MESSAGE = "Invalid or expired bearer token"  # noqa: S105
PROJECT_NOT_FOUND_CODE = "1025"
PROJECT_NOT_FOUND_MESSAGE = "Project not found for bearer token"
INSUFFICIENT_SCOPE_CODE = "1026"
INSUFFICIENT_SCOPE_MESSAGE = "Bearer token lacks a required scope"
BEARER = "Bearer"
DPOP = "DPoP"


@dataclass(frozen=True)
class ErrorResponse:
    """What a renderer returns: the status, the JSON body and an optional challenge."""

    status: int
    body: dict[str, Any]
    www_authenticate: str | None = None


@dataclass(frozen=True)
class BearerFailure:
    """Why a request was refused, independent of how it is shown.

    ``error`` is the RFC 6750 code, or None when the request carried no credentials at all;
    ``code`` and ``message`` are the API error code and its fixed message; ``description``
    says precisely what was wrong; ``scope`` lists the required scopes for
    ``insufficient_scope``; ``scheme`` is the authentication scheme the challenge names:
    ``Bearer`` (RFC 6750), or ``DPoP`` (RFC 9449 §7.1) for a refused DPoP request or
    DPoP-bound token.
    """

    error: str | None
    code: str
    message: str
    description: str
    scope: tuple[str, ...] = field(default=())
    scheme: str = BEARER

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", description_text(self.description))

    @property
    def status(self) -> int:
        """The RFC 6750 §3.1 status: 403 for insufficient_scope, else 401."""
        return 403 if self.error == "insufficient_scope" else 401


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def challenge(failure: BearerFailure) -> str:
    """The RFC 6750 §3 ``WWW-Authenticate`` value for ``failure``; for the DPoP scheme, with
    the ``algs`` a proof may use (RFC 9449 §7.1)."""
    scheme = DPOP if failure.scheme == DPOP else BEARER
    parts = [f'{scheme} realm="{_quote(oauth_cc_settings.REALM)}"']
    if failure.error:
        parts.append(f'error="{failure.error}"')
        parts.append(f'error_description="{failure.description}"')  # no quote or backslash
    if failure.scope:
        parts.append(f'scope="{_quote(" ".join(failure.scope))}"')
    if scheme == DPOP:
        parts.append(f'algs="{_quote(" ".join(oauth_cc_settings.DPOP_ALGORITHMS))}"')
    return ", ".join(parts)


def rfc6750(failure: BearerFailure) -> ErrorResponse:
    """The default rendering: RFC 6750 status and challenge, an OAuth-style JSON body."""
    body: dict[str, Any] = {"error_description": failure.description,
                            "error_code": failure.code}
    if failure.error:
        body = {"error": failure.error, **body}
    if failure.scope:
        body["scope"] = " ".join(failure.scope)
    return ErrorResponse(failure.status, body, challenge(failure))


def renderer() -> Callable[[BearerFailure], ErrorResponse]:
    configured = oauth_cc_settings.ERROR_RENDERER
    render: Callable[[BearerFailure], ErrorResponse] = (
        import_string(configured) if isinstance(configured, str) else configured)
    return render


class BearerError(APIException):
    """A refused request, rendered by the configured renderer when raised in a DRF view."""

    def __init__(self, failure: BearerFailure) -> None:
        self.failure = failure
        rendered = renderer()(failure)
        super().__init__(failure.description, failure.error or "not_authenticated")
        self.status_code = rendered.status
        # Set after __init__: DRF would turn a dict's values into strings.
        self.detail = rendered.body
        self.auth_header = rendered.www_authenticate

    def __str__(self) -> str:
        return f"{self.failure.code} {self.failure.description}"

    # APIException's own versions expect ErrorDetail values, which the rendered body (a
    # renderer's plain JSON) does not hold: every member carries the failure's code.
    def get_codes(self) -> Any:
        code = self.failure.error or "not_authenticated"
        return {name: code for name in self.detail}

    def get_full_details(self) -> Any:
        code = self.failure.error or "not_authenticated"
        return {name: {"message": value, "code": code}
                for name, value in self.detail.items()}  # type: ignore[union-attr]


def invalid_token(description: str, *, scheme: str = BEARER) -> BearerError:
    return BearerError(BearerFailure("invalid_token", INVALID_TOKEN_CODE,
                                     INVALID_TOKEN_MESSAGE, description, scheme=scheme))


def project_not_found(description: str, *, scheme: str = BEARER) -> BearerError:
    return BearerError(BearerFailure("invalid_token", PROJECT_NOT_FOUND_CODE,
                                     PROJECT_NOT_FOUND_MESSAGE, description, scheme=scheme))


def no_credentials() -> BearerError:
    return BearerError(BearerFailure(None, INVALID_TOKEN_CODE, INVALID_TOKEN_MESSAGE,
                                     "No bearer token was sent."))


def insufficient_scope(required: Sequence[str], *, scheme: str = BEARER) -> BearerError:
    return BearerError(BearerFailure(
        "insufficient_scope", INSUFFICIENT_SCOPE_CODE, INSUFFICIENT_SCOPE_MESSAGE,
        "The token lacks a scope this API requires: " + " ".join(required), tuple(required),
        scheme=scheme))


def scope_refused(description: str, *, scheme: str = BEARER) -> BearerError:
    """A 403 for a request its token's scopes exclude (``~HasScope``), naming no scope."""
    return BearerError(BearerFailure("insufficient_scope", INSUFFICIENT_SCOPE_CODE,
                                     INSUFFICIENT_SCOPE_MESSAGE, description, scheme=scheme))


def scheme_of(token: Any) -> str:
    """The scheme a request with this verified token used: ``DPoP`` for a DPoP-bound token
    (only that scheme accepts one), else ``Bearer``; a refusal's challenge names it."""
    return DPOP if "cnf" in token.claims else BEARER
