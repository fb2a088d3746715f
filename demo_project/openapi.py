"""The demo's OpenAPI schema (drf-spectacular): which endpoints, and what their answers are.

The demo's views are plain ``APIView``s that answer dicts, which drf-spectacular cannot guess:
the extensions below describe their query parameters and answers, as drf-spectacular's
``OpenApiViewExtension`` does for views whose code is kept free of schema details. Their
security (the ``OAuth2`` scheme and each operation's scope) comes from oauth_cc itself.
Imported by ``demo_project.urls``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.views import APIView

from demo_project.addresses.views import DEFAULT_MAX, LARGEST_MAX, LONGEST_QUERY


def address_api_only(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """A PREPROCESSING_HOOKS entry: keep the address API under ``/api/``."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]


class DemoError(serializers.Serializer):
    """The seed's error format (demo_project/addresses/errors.py)."""

    completions = serializers.ListField(child=serializers.CharField(), max_length=0)
    message = serializers.CharField()
    error_code = serializers.CharField(help_text=(
        "1001 a required parameter is missing, 1002 a parameter has a bad value, 1024 no "
        "token or an invalid one, 1025 the token's project no longer exists, 1026 the token "
        "lacks the scope."))
    success = serializers.BooleanField()


class Completion(serializers.Serializer):
    full_address = serializers.CharField()
    id = serializers.CharField()


class Address(Completion):
    locality_name = serializers.CharField()
    postcode = serializers.CharField()
    state_territory = serializers.CharField()
    street_name = serializers.CharField()
    street_number = serializers.CharField()
    street_type = serializers.CharField()


class AutocompleteAnswer(serializers.Serializer):
    completions = Completion(many=True)
    paid = serializers.BooleanField()
    demo = serializers.BooleanField()
    success = serializers.BooleanField()


class AddressVerificationAnswer(serializers.Serializer):
    matched = serializers.BooleanField()
    address = Address(required=False, help_text="The matched address, when there is one.")
    success = serializers.BooleanField()


class PhoneVerificationAnswer(serializers.Serializer):
    is_verified = serializers.BooleanField()
    country_code = serializers.CharField(allow_null=True)
    line_type = serializers.CharField(allow_null=True)
    national_format = serializers.CharField(allow_null=True)
    international_format = serializers.CharField(allow_null=True)
    not_verified_reason = serializers.CharField(allow_null=True)
    success = serializers.BooleanField()


class EmailVerificationAnswer(serializers.Serializer):
    email = serializers.CharField()
    is_verified = serializers.BooleanField()
    domain = serializers.CharField(allow_null=True)
    not_verified_reason = serializers.CharField(allow_null=True)
    success = serializers.BooleanField()


def answers(success: type[serializers.Serializer]) -> dict[int, Any]:
    return {
        200: success,
        400: OpenApiResponse(DemoError, description=(
            "A missing or bad parameter (1001, 1002), or no valid token (1024, 1025).")),
        403: OpenApiResponse(DemoError, description="The token lacks the scope (1026)."),
    }


def query(name: str, description: str, *, max_length: int | None = None,
          **kwargs: Any) -> OpenApiParameter:
    """A required string parameter; the views refuse an empty one, and a ``q`` longer than
    ``LONGEST_QUERY``."""
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if max_length is not None:
        schema["maxLength"] = max_length
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=True,
                            description=description, **kwargs)


class DescribedView(OpenApiViewExtension):
    """A view of the demo with ``get`` described by ``extend_schema(**schema)``."""

    schema: dict[str, Any]

    def view_replacement(self) -> type[APIView]:
        view: type[APIView] = type(self.target.__name__, (self.target,), {})
        return extend_schema_view(get=extend_schema(**self.schema))(view)


class AutocompleteSchema(DescribedView):
    target_class = "demo_project.addresses.views.AutocompleteView"
    schema = {
        "tags": ["address"],
        "summary": "Address autocomplete",
        "description": "Addresses that match what was typed so far (Australia or New Zealand).",
        "parameters": [
            query("q", f"The address as typed so far (at most {LONGEST_QUERY} characters).",
                  max_length=LONGEST_QUERY,
                  examples=[OpenApiExample("As typed", value="274 Harb")]),
            OpenApiParameter("max", {"type": "integer", "minimum": 1, "maximum": LARGEST_MAX},
                             OpenApiParameter.QUERY, default=DEFAULT_MAX,
                             description=f"How many completions, 1 to {LARGEST_MAX}."),
        ],
        "responses": answers(AutocompleteAnswer),
    }


class AddressVerificationSchema(DescribedView):
    target_class = "demo_project.addresses.views.AddressVerificationView"
    schema = {
        "tags": ["address"],
        "summary": "Address verification",
        "description": "Whether the address is a known one, and its parts if it is.",
        "parameters": [query("q", f"The whole address (at most {LONGEST_QUERY} characters).",
                             max_length=LONGEST_QUERY)],
        "responses": answers(AddressVerificationAnswer),
    }


class PhoneVerificationSchema(DescribedView):
    target_class = "demo_project.addresses.views.PhoneVerificationView"
    schema = {
        "tags": ["phone"],
        "summary": "Phone verification",
        "description": "Whether the number is valid in the country's numbering plan.",
        "parameters": [query("phone_number", "The number, national or international."),
                       query("country_code", "AU or NZ.", enum=["AU", "NZ"])],
        "responses": answers(PhoneVerificationAnswer),
    }


class EmailVerificationSchema(DescribedView):
    target_class = "demo_project.addresses.views.EmailVerificationView"
    schema = {
        "tags": ["email"],
        "summary": "E-mail verification",
        "description": ("Whether the address is well formed, with a domain that is not reserved "
                        "for examples or tests (no DNS or mailbox look-up)."),
        "parameters": [query("email", "The e-mail address.")],
        "responses": answers(EmailVerificationAnswer),
    }
