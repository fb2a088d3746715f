"""``ClientRecord``: what a worker keeps of a client, as a plain value."""

from __future__ import annotations

from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

from oauth_cc import clock, credentials


@dataclass(frozen=True)
class ClientRecord:
    """What a worker keeps of a client: all the token endpoint and verification need of it.

    A value, read in one query (``ClientManager.records``) and cached per worker
    (``state.clients``); checking a secret against it asks nothing of the database.
    """

    pk: int
    client_id: str
    project_id: int
    secret_hash: str
    #: The secret before the last regeneration, and when it stops working (epoch seconds).
    previous_secret_hash: str
    previous_secret_expires_at: float | None
    is_active: bool
    project_is_active: bool
    scopes: tuple[str, ...]

    @sensitive_variables("secret")
    def check_secret(self, secret: str, now: float | None = None) -> tuple[bool, bool]:
        """``(matches, needs_rehash)`` for ``secret``, honouring the rotation grace period:
        the previous secret matches until ``previous_secret_expires_at``."""
        matches, rehash = credentials.check_secret(secret, self.secret_hash)
        if matches or not self.previous_secret_hash or self.previous_secret_expires_at is None:
            return matches, rehash
        if (clock.now() if now is None else now) >= self.previous_secret_expires_at:
            return False, False
        return credentials.check_secret(secret, self.previous_secret_hash)[0], False

    def __repr__(self) -> str:
        return f"<ClientRecord {self.client_id}>"
