"""SigningKey: token signing keys and their lifecycle (next, active, retired)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, ClassVar

from django.db import IntegrityError, connections, models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from oauth_cc import audit, clock, keys
from oauth_cc.settings import oauth_cc_settings

logger = logging.getLogger("oauth_cc")
# PostgreSQL advisory lock key that serialises rotations: "oauth_cc" as a 64-bit integer.
ROTATION_LOCK_ID = int.from_bytes(b"oauth_cc", "big")


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
        it signs. ``algorithm`` (default: the promoted key's, else ``SIGNING_ALGORITHM``) is
        that of the new ``next`` key: a change of algorithm takes effect at the following
        rotation, so that no key ever signs before it was published. Only when there is no
        ``next`` key at all is one created and promoted at once. Concurrent rotations are
        serialised (``_lock_current``); a loser retries.
        """
        for attempt in range(5):
            try:
                with transaction.atomic():
                    return self._rotate_once(algorithm)
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _lock_current(self) -> list[SigningKey]:
        """The active and next keys, locked until the transaction ends.

        On PostgreSQL a transaction-level advisory lock serialises rotations, and the read
        after it sees every committed rotation. (Row locks alone are not enough there: under
        READ COMMITTED a locking read that waited for a rotation misses the key that rotation
        inserted.) Elsewhere the row locks and the partial unique constraints make a
        conflicting rotation fail with IntegrityError, and ``rotate()`` retries it.
        """
        connection = connections[self.db]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROTATION_LOCK_ID])
        return list(self.select_for_update().filter(
            state__in=[SigningKeyState.ACTIVE, SigningKeyState.NEXT]).order_by("pk"))

    def _rotate_once(self, algorithm: str | None) -> SigningKey:
        current = self._lock_current()
        active = next((k for k in current if k.state == SigningKeyState.ACTIVE), None)
        upcoming = next((k for k in current if k.state == SigningKeyState.NEXT), None)
        if algorithm is None:
            algorithm = upcoming.algorithm if upcoming else oauth_cc_settings.SIGNING_ALGORITHM
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

    def replace_next(self, among: list[int] | None = None) -> SigningKey | None:
        """Replace the ``next`` key (if ``among`` is given, only if its pk is in it) by a new
        one of the same algorithm; return the new key, or None when there was nothing to do.

        A ``next`` key has never signed, so no token needs it: it can leave the JWKS at once
        (``rotate()`` does the same when the algorithm changes). May raise ``IntegrityError``
        if a concurrent rotation created a ``next`` key first.
        """
        with transaction.atomic():
            old = self.select_for_update().filter(state=SigningKeyState.NEXT)
            if among is not None:
                old = old.filter(pk__in=among)
            current = old.first()
            if current is None:
                return None
            algorithm = current.algorithm
            current.delete()
            return self.create_key(SigningKeyState.NEXT, algorithm)

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
