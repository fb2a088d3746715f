"""The demo API's errors, in the product document's format.

Every error is ``{"completions": [], "message": ..., "error_code": ..., "success": false}``:

=====  ======  ===========================================================================
code   status  when
=====  ======  ===========================================================================
1001   400     a required query parameter (``q``, ``phone_number``, ``country_code``,
               ``email``) is missing or blank
1002   400     a query parameter has a value the API does not accept (``max`` outside
               1..100, ``country_code`` not AU or NZ, ``q`` longer than 500 characters)
1024   400     no bearer token, or an invalid, expired, tampered or foreign one; a DPoP-bound
               token sent as Bearer, or without a valid proof (oauth_cc)
1025   400     a valid token whose client or project no longer exists (oauth_cc)
1026   403     the token lacks the scope this API requires (oauth_cc)
=====  ======  ===========================================================================

``seed_error`` is the oauth_cc renderer for 1024-1026 (``OAUTH_CC["ERROR_RENDERER"]``);
``ParameterError`` is raised by the views for 1001 and 1002.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import APIException

from oauth_cc.bearer_errors import BearerFailure, ErrorResponse

MISSING_PARAMETER = "1001"
INVALID_PARAMETER = "1002"


def seed_body(message: str, code: str) -> dict[str, Any]:
    return {"completions": [], "message": message, "error_code": code, "success": False}


def seed_error(failure: BearerFailure) -> ErrorResponse:
    """Render a refused API request as the seed does: 400, or 403 for a missing scope.

    No ``WWW-Authenticate`` header: this format is not RFC 6750's, and clients act on
    ``error_code``. DPoP refusals (``failure.scheme == "DPoP"``, RFC 9449) are ``1024`` like
    any invalid token: the failure's code says so, whatever the scheme.
    """
    status = 403 if failure.error == "insufficient_scope" else 400
    return ErrorResponse(status, seed_body(failure.message, failure.code))


class ParameterError(APIException):
    """A bad query parameter: status 400 with a seed-format body."""

    status_code = 400

    def __init__(self, message: str, code: str = INVALID_PARAMETER) -> None:
        super().__init__(message, code)
        # Set after __init__: DRF would turn the body's values into strings.
        self.detail = seed_body(message, code)

    @classmethod
    def missing(cls, name: str) -> ParameterError:
        return cls(f"The {name} query parameter is required.", MISSING_PARAMETER)
