"""Scope, Project, Client: who may get tokens, with which scopes, and their credentials.

A client authenticates one way (``Client.AuthMethod``): with a secret kept only as a keyed
hash, or with ``private_key_jwt`` (RFC 7523), signing assertions with a private key whose
public half it registers as a JWK Set or a ``jwks_uri``; such a client has no secret at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from oauth_cc import audit, clock, credentials
from oauth_cc.client_jwks import (
    jwk_set_validator,
    jwks_uri_validator,
    validate_jwk_set,
    validate_jwks_uri,
)
from oauth_cc.models.client_records import CLIENT_SECRET, PRIVATE_KEY_JWT, ClientRecord
from oauth_cc.settings import oauth_cc_settings


def validate_scope_name(value: str) -> None:
    from oauth_cc.scopes import MAX_SCOPE_LENGTH, is_valid_scope_name

    if not is_valid_scope_name(value):
        raise ValidationError(
            _("A scope name is 1 to %(max)d printable ASCII characters without spaces, quotes "
              "or backslashes (RFC 6749 §3.3)."),
            params={"max": MAX_SCOPE_LENGTH},
        )


class UnknownScopes(ValueError):
    """Some scope names do not exist. ``names`` lists them."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__("Unknown scope(s): " + ", ".join(self.names))


def scopes_named(scopes: Iterable[str | Scope]) -> list[Scope]:
    """The ``Scope`` rows of ``scopes`` (names or rows). Raises ``UnknownScopes`` for a name
    that does not exist."""
    names = {scope.name if isinstance(scope, Scope) else scope for scope in scopes}
    found = list(Scope.objects.filter(name__in=names))
    missing = names - {scope.name for scope in found}
    if missing:
        raise UnknownScopes(missing)
    return found


class Scope(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True,
                            validators=[validate_scope_name])
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scope")
        verbose_name_plural = _("scopes")

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """The account that owns clients. Its clients work only while it is active."""

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(
        _("OAuth2 client credentials enabled"), default=True,
        help_text=_("When off, the project's clients cannot get tokens and their tokens are "
                    "rejected."),
    )
    created_at = models.DateTimeField(_("created"), default=clock.now_datetime, editable=False)
    #: The site's users who manage this project's clients in the customer portal.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="oauth_cc_projects",
        verbose_name=_("members"),
        help_text=_("Users who may manage this project's clients in the customer portal."))
    #: The scopes staff allow this project's clients: what the portal offers. Staff may still
    #: give a client any scope in the admin.
    scopes = models.ManyToManyField(
        Scope, blank=True, related_name="projects", verbose_name=_("scopes"),
        help_text=_("The scopes the project's members may give its clients in the customer "
                    "portal."))

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name

    def set_active(self, active: bool) -> bool:
        """Enable or disable the project's OAuth2 client credentials; True if that changed.

        Saved with ``save()`` so ``post_save`` fires: this process refuses the project's
        tokens at once (``oauth_cc.signals``).
        """
        if self.is_active == active:
            return False
        self.is_active = active
        self.save(update_fields=["is_active"])
        return True


_RECORD_FIELDS = ("pk", "client_id", "project_id", "secret_hash", "previous_secret_hash",
                  "previous_secret_expires_at", "is_active", "project__is_active",
                  "auth_method", "jwks", "jwks_uri", "require_dpop", "tokens_per_hour",
                  "scopes__name")


def _canonical_json(document: Mapping[str, Any] | None) -> str:
    """One text per JSON document, whatever order the database gives its members in."""
    if document is None:
        return ""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class ClientManager(models.Manager["Client"]):
    @sensitive_variables("secret")
    def create_client(self, name: str, *, project: Project | None = None,
                      scopes: Iterable[str | Scope] = (), is_active: bool = True,
                      require_dpop: bool = False, tokens_per_hour: int | None = None
                      ) -> tuple[Client, str]:
        """Create a client with a new id and secret. Returns ``(client, plaintext_secret)``.

        Without ``project`` a project named ``name`` is created. Raises ``UnknownScopes`` if a
        scope name does not exist; nothing is created then. ``require_dpop``: the client gets
        only DPoP-bound tokens (RFC 9449). ``tokens_per_hour``: its own token quota.
        """
        client = self.model(name=name, project=project, is_active=is_active,
                            require_dpop=require_dpop, tokens_per_hour=tokens_per_hour)
        secret = client.issue_credentials(scopes)
        return client, secret

    def create_secretless_client(self, name: str, *, project: Project | None = None,
                                 scopes: Iterable[str | Scope] = (), is_active: bool = True,
                                 jwks: Mapping[str, Any] | str | None = None,
                                 jwks_uri: str = "", require_dpop: bool = False,
                                 tokens_per_hour: int | None = None) -> Client:
        """Create a ``private_key_jwt`` client with a new id and no secret; it authenticates
        with assertions signed by a key of ``jwks`` (a JWK Set) or of the set at
        ``jwks_uri`` (exactly one of the two).

        Without ``project`` a project named ``name`` is created. Raises ``ValidationError``
        for keys or a URL a client may not register, and ``UnknownScopes`` if a scope name
        does not exist; nothing is created then. ``require_dpop`` and ``tokens_per_hour`` as
        for ``create_client``.
        """
        client = self.model(name=name, project=project, is_active=is_active,
                            require_dpop=require_dpop, tokens_per_hour=tokens_per_hour)
        client.issue_secretless(scopes, jwks=jwks, jwks_uri=jwks_uri)
        return client

    def record(self, client_id: str) -> ClientRecord | None:
        """The ``ClientRecord`` for ``client_id`` (one query), or None if there is none."""
        return self.records([client_id]).get(client_id)

    def records(self, client_ids: Iterable[str]) -> dict[str, ClientRecord]:
        """The ``ClientRecord`` of each of ``client_ids`` that exists, in one query (a LEFT
        JOIN over the scopes, one row per client and scope)."""
        rows = self.filter(client_id__in=list(client_ids)).order_by().values_list(
            *_RECORD_FIELDS)
        found: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            found.setdefault(row[1], []).append(row)
        records = {}
        for client_id, client_rows in found.items():
            (pk, _, project_id, secret_hash, previous, previous_until, active, project_active,
             auth_method, jwks, jwks_uri, require_dpop, tokens_per_hour, _) = client_rows[0]
            records[client_id] = ClientRecord(
                pk, client_id, project_id, secret_hash, previous,
                previous_until.timestamp() if previous_until is not None else None,
                bool(active), bool(project_active),
                tuple(sorted(row[-1] for row in client_rows if row[-1])),
                auth_method, _canonical_json(jwks), jwks_uri, bool(require_dpop),
                tokens_per_hour)
        return records


class Client(models.Model):
    """An OAuth2 confidential client of a project. It authenticates with a secret, kept only
    as a keyed hash, or with ``private_key_jwt`` and no secret (``AuthMethod``)."""

    class AuthMethod(models.TextChoices):
        CLIENT_SECRET = CLIENT_SECRET, _("client secret (HTTP Basic or in the body)")
        PRIVATE_KEY_JWT = PRIVATE_KEY_JWT, _("private_key_jwt (a JWT signed with its key)")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="clients",
                                verbose_name=_("project"))
    name = models.CharField(_("name"), max_length=200)
    client_id = models.CharField(_("client id"), max_length=64, unique=True, editable=False)
    secret_hash = models.CharField(max_length=128, editable=False)
    # The secret before the last regeneration, valid until previous_secret_expires_at.
    previous_secret_hash = models.CharField(max_length=128, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    scopes = models.ManyToManyField(Scope, blank=True, related_name="clients",
                                    verbose_name=_("allowed scopes"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=clock.now_datetime, editable=False)
    secret_updated_at = models.DateTimeField(_("secret updated"), default=clock.now_datetime,
                                             editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    # Change these three with use_private_key_jwt() and use_client_secret(), which keep them
    # and the secret hashes consistent (the constraint below refuses anything else).
    auth_method = models.CharField(_("authentication method"), max_length=32,
                                   choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET)
    jwks = models.JSONField(
        _("public keys (JWK Set)"), null=True, blank=True, validators=[jwk_set_validator],
        help_text=_("private_key_jwt: the client's public signing keys, as a JWK Set."))
    jwks_uri = models.CharField(
        _("JWK Set URL"), max_length=2048, blank=True, default="",
        validators=[jwks_uri_validator],
        help_text=_("private_key_jwt: where the client publishes its public signing keys "
                    "(https)."))
    #: RFC 9449: the client must send a DPoP proof with every token request, so that each
    #: of its tokens is bound to a key it holds (a stolen token is useless without the key).
    require_dpop = models.BooleanField(
        _("Require DPoP-bound tokens"), default=False,
        help_text=_("When on, the token endpoint refuses this client a token unless its "
                    "request carries a valid DPoP proof (RFC 9449)."))
    #: CONTRACT §14: this client's own cap on tokens per sliding hour (None: the site's
    #: TOKENS_PER_CLIENT_PER_HOUR).
    tokens_per_hour = models.PositiveIntegerField(
        _("tokens per hour"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("The most tokens this client may get in any hour; empty for the site's "
                    "default (TOKENS_PER_CLIENT_PER_HOUR). Clients should reuse a token until "
                    "it expires."))

    objects: ClassVar[ClientManager] = ClientManager()
    _loaded_is_active: bool | None = None

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        constraints = [
            # One way to authenticate: a secret client has no keys; a private_key_jwt client
            # has no secret (nor a previous one) and exactly one of a JWK Set and a jwks_uri.
            models.CheckConstraint(
                name="oauth_cc_client_one_auth_method",
                condition=(models.Q(auth_method=CLIENT_SECRET, jwks__isnull=True, jwks_uri="")
                           | (models.Q(auth_method=PRIVATE_KEY_JWT, secret_hash="",
                                       previous_secret_hash="")
                              & (models.Q(jwks__isnull=False, jwks_uri="")
                                 | (models.Q(jwks__isnull=True) & ~models.Q(jwks_uri="")))))),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def __repr__(self) -> str:
        return f"<Client {self.client_id}>"

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().from_db(*args, **kwargs)
        # What was loaded, so saving a change of is_active can be audited (signals.py).
        instance._loaded_is_active = instance.__dict__.get("is_active")
        return instance

    @sensitive_variables("secret")
    def issue_credentials(self, scopes: Iterable[str | Scope] = ()) -> str:
        """Save this new client with a fresh id and secret; return the secret in plain text
        (the only time it exists).

        The one way a client comes to be: the manager, the admin, the commands and the portal
        all call it. Without a project, one named after the client is created (and allowed
        the client's scopes). Raises ``UnknownScopes`` if a scope name does not exist;
        nothing is saved then.
        """
        if not self._state.adding:
            raise ValueError("issue_credentials() is for a new client; an existing one "
                             "regenerates its secret.")
        secret = credentials.generate_client_secret()
        self.secret_hash = credentials.hash_secret(secret)
        self.save_new(scopes)
        return secret

    def issue_secretless(self, scopes: Iterable[str | Scope] = (), *,
                         jwks: Mapping[str, Any] | str | None = None,
                         jwks_uri: str = "") -> None:
        """Save this new client as a ``private_key_jwt`` one, with a fresh id, no secret, and
        the public keys of ``jwks`` or at ``jwks_uri`` (exactly one): ``issue_credentials``
        for a secretless client (``ClientManager.create_secretless_client`` calls it).

        Raises ``ValidationError`` for keys or a URL a client may not register, and
        ``UnknownScopes`` if a scope name does not exist; nothing is saved then.
        """
        if not self._state.adding:
            raise ValueError("issue_secretless() is for a new client; an existing one "
                             "switches with use_private_key_jwt().")
        self.register_public_keys(jwks=jwks, jwks_uri=jwks_uri)
        self.save_new(scopes)

    def save_new(self, scopes: Iterable[str | Scope] = ()) -> None:
        """Save this new client, with its credentials already set, under a fresh id.

        Without a project, one named after the client is created (and allowed the client's
        scopes). Raises ``UnknownScopes`` if a scope name does not exist; nothing is saved
        then.
        """
        found = scopes_named(scopes)
        if not self._state.adding:
            raise ValueError("save_new() is for a new client.")
        with transaction.atomic():
            if self.project_id is None:
                # A project made for this client is allowed what the client is given.
                self.project = Project.objects.create(name=self.name)
                self.project.scopes.set(found)
            self.client_id = credentials.generate_client_id()
            self.save()
            self.scopes.set(found)
        self._loaded_is_active = self.is_active
        audit.emit(audit.client_created, "client_created", client_id=self.client_id,
                   project_id=self.project_id, name=self.name)

    @property
    def uses_private_key_jwt(self) -> bool:
        return self.auth_method == self.AuthMethod.PRIVATE_KEY_JWT

    def register_public_keys(self, *, jwks: Mapping[str, Any] | str | None = None,
                             jwks_uri: str = "") -> list[str]:
        """Make this (unsaved) client a ``private_key_jwt`` one with ``jwks`` or
        ``jwks_uri`` (exactly one), without a secret; return the fields that changed.

        Raises ``ValidationError`` for both or neither, or for keys or a URL a client may not
        register (``client_jwks``); nothing changes then.
        """
        if jwks == "":  # an empty form field
            jwks = None
        if (jwks is None) == (not jwks_uri):
            raise ValidationError(_("Register either a JWK Set or a jwks_uri: exactly one."))
        if jwks is not None:
            new_jwks, new_uri = validate_jwk_set(jwks), ""
        else:
            new_jwks, new_uri = None, validate_jwks_uri(jwks_uri)
        changed = [name for name, old, new in (
            ("auth_method", self.auth_method, self.AuthMethod.PRIVATE_KEY_JWT),
            ("jwks", self.jwks, new_jwks), ("jwks_uri", self.jwks_uri, new_uri))
            if old != new]
        self.auth_method = self.AuthMethod.PRIVATE_KEY_JWT
        self.jwks, self.jwks_uri = new_jwks, new_uri
        self.secret_hash = self.previous_secret_hash = ""
        self.previous_secret_expires_at = None
        return changed

    def use_private_key_jwt(self, *, jwks: Mapping[str, Any] | str | None = None,
                            jwks_uri: str = "") -> None:
        """Authenticate this client with ``private_key_jwt`` from now on, with the keys of
        ``jwks`` (a JWK Set: a dict or its JSON text) or at ``jwks_uri`` (exactly one). Its
        secret hash, and any previous one still in its grace period, are removed: the
        secret stops working at once. Also how a private_key_jwt client's keys are replaced.

        Raises ``ValidationError`` with a message that says what is wrong with the keys or
        the URL; nothing changes then. The change is audited (``client_updated``).
        """
        if self._state.adding:
            raise ValueError("use_private_key_jwt() is for a saved client; create one with "
                             "Client.objects.create_secretless_client().")
        changed = self.register_public_keys(jwks=jwks, jwks_uri=jwks_uri)
        self.secret_updated_at = clock.now_datetime()
        # save(): post_save makes this worker forget the cached record (signals.py).
        self.save(update_fields=["auth_method", "jwks", "jwks_uri", "secret_hash",
                                 "previous_secret_hash", "previous_secret_expires_at",
                                 "secret_updated_at"])
        self.audit_update(changed)

    @sensitive_variables("secret")
    def use_client_secret(self) -> str:
        """Authenticate this client with a secret from now on: its registered keys are
        removed and a new secret is issued. Returns the secret in plain text (the only time
        it exists). Audited as ``client_updated`` and ``client_secret_regenerated``.
        """
        changed = [name for name, value in (
            ("auth_method", self.auth_method != self.AuthMethod.CLIENT_SECRET),
            ("jwks", self.jwks is not None), ("jwks_uri", bool(self.jwks_uri))) if value]
        self.auth_method = self.AuthMethod.CLIENT_SECRET
        self.jwks, self.jwks_uri = None, ""
        self.previous_secret_hash, self.previous_secret_expires_at = "", None
        secret = credentials.generate_client_secret()
        self.secret_hash = credentials.hash_secret(secret)
        self.secret_updated_at = clock.now_datetime()
        self.save(update_fields=["auth_method", "jwks", "jwks_uri", "secret_hash",
                                 "previous_secret_hash", "previous_secret_expires_at",
                                 "secret_updated_at"])
        self.audit_update(changed)
        audit.emit(audit.client_secret_regenerated, "client_secret_regenerated",
                   client_id=self.client_id, grace_seconds=0)
        return secret

    @sensitive_variables("secret")
    def regenerate_secret(self, grace_seconds: int | None = None) -> str:
        """Give the client a new secret and return it in plain text (the only time it exists).

        The old secret stays valid for ``grace_seconds`` (default
        ``SECRET_ROTATION_GRACE_SECONDS``), so deployments can roll to the new one. Raises
        ``ValueError`` for a ``private_key_jwt`` client, which has no secret to regenerate.
        """
        if self.uses_private_key_jwt:
            raise ValueError("This client authenticates with private_key_jwt and has no "
                             "secret; use_client_secret() switches it to one.")
        if grace_seconds is None:
            grace_seconds = oauth_cc_settings.SECRET_ROTATION_GRACE_SECONDS
        secret = credentials.generate_client_secret()
        now = clock.now_datetime()
        if grace_seconds > 0:
            self.previous_secret_hash = self.secret_hash
            self.previous_secret_expires_at = now + timedelta(seconds=grace_seconds)
        else:
            self.previous_secret_hash = ""
            self.previous_secret_expires_at = None
        self.secret_hash = credentials.hash_secret(secret)
        self.secret_updated_at = now
        self.save(update_fields=["secret_hash", "previous_secret_hash",
                                 "previous_secret_expires_at", "secret_updated_at"])
        audit.emit(audit.client_secret_regenerated, "client_secret_regenerated",
                   client_id=self.client_id, grace_seconds=grace_seconds)
        return secret

    def set_active(self, active: bool) -> bool:
        """Enable or disable the client; True if that changed.

        Saved with ``save()`` so ``post_save`` fires: this process refuses a disabled client's
        tokens at once, and the change is audited (``oauth_cc.signals``).
        """
        if self.is_active == active:
            return False
        self.is_active = active
        self.save(update_fields=["is_active"])
        return True

    def update(self, *, name: str | None = None,
               scopes: Iterable[str | Scope] | None = None,
               require_dpop: bool | None = None) -> list[str]:
        """Rename the client, replace its allowed scopes, and/or require DPoP-bound tokens or
        not; return the names of the fields that changed (audited as one
        ``client_updated``). None leaves a field as it is. Saved with ``save()``, so every
        worker's cached record goes (``signals``).

        Raises ``UnknownScopes`` if a scope name does not exist; nothing is saved then.
        """
        changed = []
        found = None if scopes is None else scopes_named(scopes)
        if found is not None and ({scope.pk for scope in found}
                                  != set(self.scopes.values_list("pk", flat=True))):
            changed.append("scopes")
        if name is not None and name != self.name:
            changed.append("name")
            self.name = name
        if require_dpop is not None and require_dpop != self.require_dpop:
            changed.append("require_dpop")
            self.require_dpop = require_dpop
        with transaction.atomic():
            fields = [field for field in changed if field != "scopes"]
            if fields:
                self.save(update_fields=fields)
            if found is not None and "scopes" in changed:
                self.scopes.set(found)
        self.audit_update(changed)
        return changed

    def audit_update(self, fields: list[str]) -> None:
        """Record that ``fields`` of this client changed (nothing if it is empty)."""
        if fields:
            audit.emit(audit.client_updated, "client_updated", client_id=self.client_id,
                       project_id=self.project_id, fields=sorted(fields))
