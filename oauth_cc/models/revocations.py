"""RevokedToken: the denylist of revoked access tokens (RFC 7009)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from oauth_cc import clock
from oauth_cc.settings import oauth_cc_settings


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
    # Indexed: each worker reads the revocations made since its last read (state.py).
    revoked_at = models.DateTimeField(_("revoked"), default=clock.now_datetime, editable=False,
                                      db_index=True)

    objects: ClassVar[RevokedTokenManager] = RevokedTokenManager()

    class Meta:
        ordering = ["-revoked_at"]
        verbose_name = _("revoked token")
        verbose_name_plural = _("revoked tokens")

    def __str__(self) -> str:
        return self.jti
