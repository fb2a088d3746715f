"""What a customer may do to a project's clients: the one code path of the portal's pages and
its JSON API.

Each operation applies the portal's rules (the project's OAuth2 is enabled, only the scopes
staff allow the project, at most ``PORTAL_MAX_CLIENTS`` clients), then calls the model method
the admin and the management commands call too (``Client.objects.create_client`` and
``create_secretless_client``, ``Client.regenerate_secret``, ``Client.use_private_key_jwt`` and
``use_client_secret``, ``Client.set_active``, ``Client.update``, ``Client.delete``), with the
acting user named in the audit events. A refusal is a ``PortalRefusal``; nothing has
changed then.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, ngettext
from django.views.decorators.debug import sensitive_variables

from oauth_cc import audit
from oauth_cc.models import Client, Project, Scope
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.shown_once import ShownOnce

_T = TypeVar("_T")
PRIVATE_KEY_JWT = Client.AuthMethod.PRIVATE_KEY_JWT.value


class PortalRefusal(Exception):
    """An operation the portal refuses. ``message`` says why, to the customer."""

    code = "refused"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ProjectNotEnabled(PortalRefusal):
    """The project's OAuth2 client credentials are off: staff must enable them first."""

    code = "project_not_enabled"

    def __init__(self) -> None:
        super().__init__(gettext("OAuth2 client credentials are not enabled for this project. "
                                 "Contact us to enable them."))


class ClientLimitReached(PortalRefusal):
    code = "client_limit"

    def __init__(self, limit: int) -> None:
        super().__init__(ngettext(
            "This project already has %(limit)d client, the most it may have. Delete it "
            "before you create another.",
            "This project already has %(limit)d clients, the most it may have. Delete one "
            "before you create another.", limit) % {"limit": limit})


class ScopesNotAllowed(PortalRefusal):
    code = "scopes_not_allowed"

    def __init__(self, names: Collection[str]) -> None:
        super().__init__(gettext("Scopes not available to this project: %(names)s.")
                         % {"names": ", ".join(sorted(names))})


class KeysRefused(PortalRefusal):
    """The keys given for a ``private_key_jwt`` client cannot be registered; ``field`` is the
    one the message is about (``jwks`` or ``jwks_uri``)."""

    code = "invalid_keys"

    def __init__(self, message: str, field: str = "jwks") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Keys:
    """The public keys of a ``private_key_jwt`` client: a JWK Set (``jwks``, as
    ``validate_jwk_set`` returns it) or the URL of one (``jwks_uri``), not both."""

    jwks: dict[str, Any] | None = None
    jwks_uri: str = ""


def _registering(keys: Keys, register: Callable[[], _T]) -> _T:
    """``register()``, its ``ValidationError`` (keys the model refuses) as ``KeysRefused``."""
    try:
        return register()
    except ValidationError as e:
        raise KeysRefused(" ".join(e.messages),
                          "jwks_uri" if keys.jwks_uri and not keys.jwks else "jwks") from e


def allowed_scopes(project: Project) -> QuerySet[Scope]:
    """The scopes the portal offers for ``project``'s clients: those staff allow it."""
    return project.scopes.all()


def require_enabled(project: Project) -> None:
    """Raises ``ProjectNotEnabled`` unless ``project``'s OAuth2 client credentials are on.

    Every change checks it; the pages and the API also check it before validating input, so
    a project that is not enabled answers so whatever was sent."""
    if not project.is_active:
        raise ProjectNotEnabled


def _require_allowed(project: Project, scopes: Collection[Scope]) -> None:
    allowed = set(allowed_scopes(project).values_list("pk", flat=True))
    extra = {scope.name for scope in scopes if scope.pk not in allowed}
    if extra:
        raise ScopesNotAllowed(extra)


@sensitive_variables("secret")
def create_client(project: Project, *, name: str, scopes: Collection[Scope], actor: Any,
                  keys: Keys | None = None, require_dpop: bool = False
                  ) -> tuple[Client, ShownOnce | None]:
    """A new client of ``project`` and its secret, in plain text this once; with ``keys``, a
    ``private_key_jwt`` client that has no secret (None). ``require_dpop``: the client gets
    DPoP-bound tokens only (RFC 9449).

    Raises ``ProjectNotEnabled``, ``ScopesNotAllowed``, ``KeysRefused``, or
    ``ClientLimitReached`` when the project already holds ``PORTAL_MAX_CLIENTS`` clients
    (made here or not).
    """
    with transaction.atomic():
        # The project row locked, so that two creates at once cannot both pass the limit.
        locked = Project.objects.select_for_update().get(pk=project.pk)
        require_enabled(locked)
        _require_allowed(locked, scopes)
        limit = oauth_cc_settings.PORTAL_MAX_CLIENTS
        if locked.clients.count() >= limit:
            raise ClientLimitReached(limit)
        with audit.acting(actor):
            if keys is not None:
                secretless = _registering(keys, lambda: Client.objects.create_secretless_client(
                    name, project=locked, scopes=scopes, jwks=keys.jwks,
                    jwks_uri=keys.jwks_uri, require_dpop=require_dpop))
                return secretless, None
            client, secret = Client.objects.create_client(name, project=locked, scopes=scopes,
                                                          require_dpop=require_dpop)
    return client, ShownOnce(secret)


@sensitive_variables("secret")
def regenerate_secret(client: Client, *, actor: Any) -> ShownOnce:
    """A new secret for ``client``, in plain text this once; the old one keeps working for
    ``SECRET_ROTATION_GRACE_SECONDS``. A ``private_key_jwt`` client goes back to a secret:
    its keys stop working at once. Raises ``ProjectNotEnabled``."""
    require_enabled(client.project)
    with audit.acting(actor):
        if client.auth_method == PRIVATE_KEY_JWT:
            secret = client.use_client_secret()
        else:
            secret = client.regenerate_secret()
    return ShownOnce(secret)


def use_private_key_jwt(client: Client, keys: Keys, *, actor: Any) -> None:
    """Make ``client`` a ``private_key_jwt`` client with ``keys`` (or replace its keys): its
    secret stops working at once. Raises ``ProjectNotEnabled`` or ``KeysRefused``."""
    require_enabled(client.project)
    with audit.acting(actor):
        _registering(keys, lambda: client.use_private_key_jwt(jwks=keys.jwks,
                                                               jwks_uri=keys.jwks_uri))


def set_active(client: Client, active: bool, *, actor: Any) -> bool:
    """Enable or disable ``client``; True if that changed. Raises ``ProjectNotEnabled``."""
    require_enabled(client.project)
    with audit.acting(actor):
        return client.set_active(active)


def set_require_dpop(client: Client, required: bool, *, actor: Any) -> bool:
    """Make ``client`` get DPoP-bound tokens only (RFC 9449), or bearer tokens again; True if
    that changed. Raises ``ProjectNotEnabled``."""
    require_enabled(client.project)
    with audit.acting(actor):
        return bool(client.update(require_dpop=required))


def update_client(client: Client, *, actor: Any, name: str | None = None,
                  scopes: Collection[Scope] | None = None, is_active: bool | None = None,
                  keys: Keys | None = None, require_dpop: bool | None = None) -> None:
    """Rename ``client``, replace its scopes, enable or disable it, register its keys (making
    it a ``private_key_jwt`` client), require DPoP or not; None leaves a field as it is.
    Raises
    ``ProjectNotEnabled``, ``ScopesNotAllowed`` or ``KeysRefused``; nothing changes then."""
    require_enabled(client.project)
    if scopes is not None:
        _require_allowed(client.project, scopes)
    with transaction.atomic(), audit.acting(actor):
        if keys is not None:  # first: what may be refused, before anything changed
            _registering(keys, lambda: client.use_private_key_jwt(jwks=keys.jwks,
                                                                   jwks_uri=keys.jwks_uri))
        client.update(name=name, scopes=scopes, require_dpop=require_dpop)
        if is_active is not None:
            client.set_active(is_active)


def delete_client(client: Client, *, actor: Any) -> None:
    """Delete ``client``: its tokens are refused at once. Raises ``ProjectNotEnabled``."""
    require_enabled(client.project)
    with audit.acting(actor):
        client.delete()
