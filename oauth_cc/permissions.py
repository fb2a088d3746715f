"""``HasScope``: require scopes of the request's access token (RFC 6750 §3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import (
    AND,
    OR,
    BasePermission,
    BasePermissionMetaclass,
    OperandHolder,
    SingleOperandHolder,
)
from rest_framework.request import Request
from rest_framework.views import APIView

from oauth_cc import bearer_errors
from oauth_cc.verification import VerifiedToken


class _AnyOf:
    """``a | b`` where ``a`` may refuse by raising: try ``b`` before giving ``a``'s answer."""

    def __init__(self, op1: Any, op2: Any) -> None:
        self.op1, self.op2 = op1, op2

    def has_permission(self, request: Request, view: APIView) -> bool:
        try:
            if self.op1.has_permission(request, view):
                return True
        except bearer_errors.BearerError as first:
            try:
                if self.op2.has_permission(request, view):
                    return True
            except bearer_errors.BearerError:
                raise first from None
            raise
        return bool(self.op2.has_permission(request, view))

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return bool(OR(self.op1, self.op2).has_object_permission(request, view, obj))


class _Not:
    """``~a`` among requests that carry one of our tokens; anything else is refused.

    Negation decides between tokens by their scopes: it must never turn "no token" (or a
    request signed in some other way) into access, as a plain ``not`` would.
    """

    def __init__(self, op1: Any) -> None:
        self.op1 = op1

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, VerifiedToken):
            if request.successful_authenticator is None:
                raise bearer_errors.no_credentials()
            raise bearer_errors.scope_refused("This API accepts only requests made with an access "
                                       "token.")
        try:
            granted = self.op1.has_permission(request, view)
        except bearer_errors.BearerError as refusal:
            if refusal.failure.error != "insufficient_scope":
                raise
            return True
        if granted:
            raise bearer_errors.scope_refused("The token carries a scope this API does not accept.",
                                              scheme=bearer_errors.scheme_of(request.auth))
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        # Scopes are decided per request, in has_permission. Negating the operands' object
        # checks would turn BasePermission's default "every object" into "no object".
        return True


class _ScopeOperators:
    """``|``, ``&`` and ``~`` that understand a permission refusing by raising its RFC 6750
    error, so that a refusal of one operand is an answer, not the end of the evaluation.
    """

    def __or__(self, other: Any) -> Any:
        return _ScopeOperandHolder(cast(Any, _AnyOf), cast(Any, self), other)

    def __ror__(self, other: Any) -> Any:
        return _ScopeOperandHolder(cast(Any, _AnyOf), other, cast(Any, self))

    # DRF's AND already gives the first refusal as the answer; what matters is that the
    # holder it returns keeps these operators, so ``(a & b) | c`` still tries ``c``.
    def __and__(self, other: Any) -> Any:
        return _ScopeOperandHolder(cast(Any, AND), cast(Any, self), other)

    def __rand__(self, other: Any) -> Any:
        return _ScopeOperandHolder(cast(Any, AND), other, cast(Any, self))

    def __invert__(self) -> Any:
        return _ScopeSingleOperandHolder(cast(Any, _Not), cast(Any, self))


class _ScopeOperandHolder(_ScopeOperators, OperandHolder):
    pass


class _ScopeSingleOperandHolder(_ScopeOperators, SingleOperandHolder):
    pass


class _HasScopeMetaclass(_ScopeOperators, BasePermissionMetaclass):
    pass


class HasScope(BasePermission, metaclass=_HasScopeMetaclass):
    """Allow a request whose token has every scope in ``view.required_scopes``.

    ``HasScope.of("phone")`` names the scopes itself. A request without a token is refused
    with the bare RFC 6750 challenge (401), one whose token lacks a scope with
    ``insufficient_scope`` (403), rendered by ``OAUTH_CC["ERROR_RENDERER"]``. Composes with
    DRF's ``&``, ``|`` and ``~``; none of them admits a request without a token unless an
    operand admits anyone by itself (``AllowAny``): ``~HasScope.of("admin")`` means "a token
    without ``admin``".
    """

    #: Scopes required by ``HasScope.of(...)``; None means ``view.required_scopes``.
    scopes: tuple[str, ...] | None = None

    @classmethod
    def of(cls, *scopes: str) -> type[HasScope]:
        """A ``HasScope`` that requires ``scopes`` whatever the view declares."""
        if not scopes or not all(isinstance(s, str) and s for s in scopes):
            raise ImproperlyConfigured("HasScope.of() needs one or more scope names.")
        return type(f"HasScope_{'_'.join(scopes)}", (cls,), {"scopes": tuple(scopes)})

    def required_scopes(self, view: APIView) -> Sequence[str]:
        if self.scopes is not None:
            return self.scopes
        required = getattr(view, "required_scopes", None)
        if type(required) in (list, tuple) and required:
            return required  # type: ignore[no-any-return]
        if required is None or isinstance(required, str) or not required:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses HasScope but declares no required_scopes (a list "
                f"of scope names); or use HasScope.of(\"scope\", ...).")
        return tuple(required)

    def has_permission(self, request: Request, view: APIView) -> bool:
        required = self.required_scopes(view)
        token = request.auth
        if not isinstance(token, VerifiedToken):
            if request.successful_authenticator is None:
                raise bearer_errors.no_credentials()
            raise bearer_errors.insufficient_scope(required)  # signed in some other way
        if not token.scopes.issuperset(required):
            raise bearer_errors.insufficient_scope(required,
                                                   scheme=bearer_errors.scheme_of(token))
        return True
