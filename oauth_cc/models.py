"""Project, Client, Scope and SigningKey, and the manager methods that own their invariants."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from oauth_cc import audit, clock, credentials, keys
from oauth_cc.settings import oauth_cc_settings

logger = logging.getLogger("oauth_cc")


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

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ClientRecord:
    """What the token endpoint needs of a client, read in one query."""

    pk: int
    client_id: str
    project_id: int
    secret_hash: str
    has_previous_secret: bool
    is_active: bool
    project_is_active: bool
    scopes: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        return self.is_active and self.project_is_active

    def check_secret(self, secret: str) -> tuple[bool, bool]:
        """``(matches, needs_rehash)`` for ``secret``, honouring the rotation grace period.

        The previous secret is read (a second query) only when the current one did not match.
        """
        matches, rehash = credentials.check_secret(secret, self.secret_hash)
        if matches or not self.has_previous_secret:
            return matches, rehash
        previous = Client.objects.filter(pk=self.pk).values_list(
            "previous_secret_hash", "previous_secret_expires_at").first()
        if previous and previous[1] and clock.now_datetime() < previous[1]:
            return credentials.check_secret(secret, previous[0])[0], False
        return False, False

    def __repr__(self) -> str:
        return f"<ClientRecord {self.client_id}>"


class ClientManager(models.Manager["Client"]):
    _record_sql: ClassVar[dict[str, str]] = {}

    def create_client(self, name: str, *, project: Project | None = None,
                      scopes: Iterable[str] = (), is_active: bool = True) -> tuple[Client, str]:
        """Create a client with a new id and secret. Returns ``(client, plaintext_secret)``.

        Without ``project`` a project named ``name`` is created. Raises ``UnknownScopes`` if a
        scope name does not exist; nothing is created then.
        """
        wanted = set(scopes)
        found = list(Scope.objects.filter(name__in=wanted))
        missing = wanted - {s.name for s in found}
        if missing:
            raise UnknownScopes(missing)
        secret = credentials.generate_client_secret()
        with transaction.atomic():
            if project is None:
                project = Project.objects.create(name=name)
            client = self.create(
                name=name, project=project, is_active=is_active,
                client_id=credentials.generate_client_id(),
                secret_hash=credentials.hash_secret(secret),
            )
            client.scopes.set(found)
        client._loaded_is_active = client.is_active
        audit.emit(audit.client_created, "client_created", client_id=client.client_id,
                   project_id=client.project_id, name=client.name)
        return client, secret

    def record(self, client_id: str) -> ClientRecord | None:
        """The ``ClientRecord`` for ``client_id`` in one query (a LEFT JOIN over its scopes).

        This is the token endpoint's only query. Compiling it through the ORM would cost
        about as much as running it, so its SQL is compiled once per database and reused.
        """
        connection = connections[self.db]
        sql = self._record_sql.get(connection.alias)
        if sql is None:
            sql, params = self.filter(client_id="?").order_by().values_list(
                "pk", "client_id", "project_id", "secret_hash", "previous_secret_hash",
                "is_active", "project__is_active", "scopes__name",
            ).query.sql_with_params()
            assert params == ("?",), params
            self._record_sql[connection.alias] = sql
        with connection.cursor() as cursor:
            cursor.execute(sql, [client_id])
            rows = cursor.fetchall()
        if not rows:
            return None
        pk, found_id, project_id, secret_hash, previous, active, project_active, _ = rows[0]
        return ClientRecord(pk, found_id, project_id, secret_hash, bool(previous), bool(active),
                            bool(project_active), tuple(sorted(r[7] for r in rows if r[7])))


class Client(models.Model):
    """An OAuth2 confidential client of a project. Its secret is kept only as a keyed hash."""

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

    objects: ClassVar[ClientManager] = ClientManager()
    _loaded_is_active: bool | None = None

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")

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

    def regenerate_secret(self, grace_seconds: int | None = None) -> str:
        """Give the client a new secret and return it in plain text (the only time it exists).

        The old secret stays valid for ``grace_seconds`` (default
        ``SECRET_ROTATION_GRACE_SECONDS``), so deployments can roll to the new one.
        """
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


class SigningKeyState(models.TextChoices):
    NEXT = "next", _("next (published, not yet signing)")
    ACTIVE = "active", _("active (signing)")
    RETIRED = "retired", _("retired (published until its tokens expire)")


def retired_key_lifetime() -> timedelta:
    """How long a retired key must stay published: a token it signed may live this long.

    Another worker may sign with it for up to STATE_TTL_SECONDS after retirement, and a token
    lives MAX_EXPIRES_IN plus the verifiers' leeway.
    """
    s = oauth_cc_settings
    return timedelta(seconds=s.MAX_EXPIRES_IN + s.LEEWAY_SECONDS + s.STATE_TTL_SECONDS)


class SigningKeyManager(models.Manager["SigningKey"]):
    def create_key(self, state: str, algorithm: str | None = None) -> SigningKey:
        """Generate and store a key in ``state``. May raise ``IntegrityError`` on a race."""
        material = keys.new_key_material(algorithm or oauth_cc_settings.SIGNING_ALGORITHM)
        now = clock.now_datetime()
        return self.create(
            kid=material.kid, algorithm=material.algorithm, state=state,
            public_jwk=material.public_jwk,
            private_key_ciphertext=material.private_key_ciphertext,
            activated_at=now if state == SigningKeyState.ACTIVE else None,
        )

    def active(self) -> SigningKey:
        """The key that signs, created (with a ``next`` key) on first use.

        Two processes racing here both generate a key, but the partial unique constraint lets
        only one become active; the loser reads the winner's key.
        """
        for _attempt in range(3):
            key = self.filter(state=SigningKeyState.ACTIVE).first()
            if key is not None:
                return key
            try:
                with transaction.atomic():
                    key = self.create_key(SigningKeyState.ACTIVE)
            except IntegrityError:
                continue  # another process created it first
            logger.info("Created the first signing key %s (%s).", key.kid, key.algorithm)
            self._ensure_next(key.algorithm)
            return key
        return self.get(state=SigningKeyState.ACTIVE)

    def _ensure_next(self, algorithm: str) -> None:
        if self.filter(state=SigningKeyState.NEXT).exists():
            return
        try:
            with transaction.atomic():
                self.create_key(SigningKeyState.NEXT, algorithm)
        except IntegrityError:
            pass  # another process created it

    def rotate(self, algorithm: str | None = None) -> SigningKey:
        """Promote the ``next`` key, retire the active one, create a new ``next``; return the
        new active key.

        The ``next`` key has been published since it was created, so verifiers know it before
        it signs. With ``algorithm`` differing from the ``next`` key's, that unused key is
        replaced by one of ``algorithm``. Concurrent rotations are serialised by row locks and
        the partial unique constraints; a loser retries.
        """
        for attempt in range(5):
            try:
                with transaction.atomic():
                    return self._rotate_once(algorithm)
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _rotate_once(self, algorithm: str | None) -> SigningKey:
        current = list(self.select_for_update().filter(
            state__in=[SigningKeyState.ACTIVE, SigningKeyState.NEXT]).order_by("pk"))
        active = next((k for k in current if k.state == SigningKeyState.ACTIVE), None)
        upcoming = next((k for k in current if k.state == SigningKeyState.NEXT), None)
        if algorithm is None:
            algorithm = upcoming.algorithm if upcoming else oauth_cc_settings.SIGNING_ALGORITHM
        if upcoming is not None and upcoming.algorithm != algorithm:
            upcoming.delete()  # it never signed anything
            upcoming = None
        if upcoming is None:
            upcoming = self.create_key(SigningKeyState.NEXT, algorithm)
        now = clock.now_datetime()
        if active is not None:
            active.state = SigningKeyState.RETIRED
            active.retired_at = now
            active.save(update_fields=["state", "retired_at"])
        upcoming.state = SigningKeyState.ACTIVE
        upcoming.activated_at = now
        upcoming.save(update_fields=["state", "activated_at"])
        self.create_key(SigningKeyState.NEXT, algorithm)
        retired_kid = active.kid if active is not None else None
        kid, new_algorithm = upcoming.kid, upcoming.algorithm
        transaction.on_commit(lambda: audit.emit(
            audit.signing_key_rotated, "signing_key_rotated", kid=kid,
            algorithm=new_algorithm, retired_kid=retired_kid))
        if retired_kid is not None:
            transaction.on_commit(lambda: audit.emit(
                audit.signing_key_retired, "signing_key_retired", kid=retired_kid))
        return upcoming

    def published(self) -> models.QuerySet[SigningKey]:
        """Keys in the JWKS: active, next, and retired ones that may still verify a token."""
        cutoff = clock.now_datetime() - retired_key_lifetime()
        return self.filter(
            Q(state__in=[SigningKeyState.ACTIVE, SigningKeyState.NEXT])
            | Q(state=SigningKeyState.RETIRED, retired_at__gt=cutoff)
        ).order_by("pk")

    def prune(self) -> list[str]:
        """Delete retired keys that can no longer verify any live token; return their kids."""
        cutoff = clock.now_datetime() - retired_key_lifetime()
        stale = self.filter(state=SigningKeyState.RETIRED, retired_at__lte=cutoff)
        kids = list(stale.values_list("kid", flat=True))
        stale.delete()
        return kids


class SigningKey(models.Model):
    """A token signing key. The private key is stored only encrypted (see ``oauth_cc.keys``)."""

    kid = models.CharField(_("key id"), max_length=64, unique=True, editable=False)
    algorithm = models.CharField(_("algorithm"), max_length=8, editable=False,
                                 choices=[(a, a) for a in keys.SUPPORTED_ALGORITHMS])
    state = models.CharField(_("state"), max_length=8, choices=SigningKeyState.choices,
                             db_index=True)
    public_jwk = models.JSONField(_("public key (JWK)"), editable=False)
    private_key_ciphertext = models.TextField(editable=False)
    created_at = models.DateTimeField(_("created"), default=clock.now_datetime, editable=False)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True, editable=False)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True, editable=False)

    objects: ClassVar[SigningKeyManager] = SigningKeyManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=Q(state="active"),
                                    name="oauth_cc_one_active_signing_key"),
            models.UniqueConstraint(fields=["state"], condition=Q(state="next"),
                                    name="oauth_cc_one_next_signing_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.state})"

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {self.algorithm} {self.state}>"

    def jwk(self) -> dict[str, Any]:
        """The public JWK as published in the JWKS."""
        return keys.published_jwk(self.public_jwk, self.kid, self.algorithm)


class RevokedTokenManager(models.Manager["RevokedToken"]):
    def revoke(self, *, jti: str, client_id: str, expires_at: float) -> bool:
        """Put ``jti`` on the denylist until ``expires_at``; True if it was not there yet."""
        _, created = self.get_or_create(jti=jti, defaults={
            "client_id": client_id,
            "expires_at": datetime.fromtimestamp(expires_at, tz=UTC)})
        return created

    def live(self) -> models.QuerySet[RevokedToken]:
        """Revocations of tokens that a verifier (with its leeway) could still accept."""
        return self.filter(expires_at__gt=clock.now_datetime()
                           - timedelta(seconds=oauth_cc_settings.LEEWAY_SECONDS))

    def prune(self) -> int:
        """Delete revocations of tokens that have expired anyway; return how many."""
        cutoff = clock.now_datetime() - timedelta(seconds=oauth_cc_settings.LEEWAY_SECONDS)
        deleted, _ = self.filter(expires_at__lte=cutoff).delete()
        return deleted


class RevokedToken(models.Model):
    """A revoked access token (RFC 7009), by ``jti``, kept until the token would expire."""

    jti = models.CharField(_("token id (jti)"), max_length=64, unique=True, editable=False)
    client_id = models.CharField(_("client id"), max_length=64, db_index=True, editable=False)
    expires_at = models.DateTimeField(_("token expires"), db_index=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), default=clock.now_datetime, editable=False)

    objects: ClassVar[RevokedTokenManager] = RevokedTokenManager()

    class Meta:
        ordering = ["-revoked_at"]
        verbose_name = _("revoked token")
        verbose_name_plural = _("revoked tokens")

    def __str__(self) -> str:
        return self.jti
