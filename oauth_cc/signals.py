"""Receivers that keep this process's caches in step with the database."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from oauth_cc import audit, state
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client, Project, RevokedToken, Scope, SigningKey


@receiver(post_save, sender=SigningKey)
@receiver(post_delete, sender=SigningKey)
def signing_keys_changed(**kwargs: Any) -> None:
    """A key was created, rotated or deleted here: re-read the active key on next use."""
    key_ring.forget_active()


@receiver(post_save, sender=Client)
@receiver(post_delete, sender=Client)
def client_changed(instance: Client, **kwargs: Any) -> None:
    """A client was disabled, enabled, moved or deleted here: its tokens follow at once.

    Forgotten now and again after commit, so a read by another thread in between does not
    keep the old state for a whole STATE_TTL_SECONDS.
    """
    client_id = instance.client_id
    state.forget_client(client_id)
    transaction.on_commit(lambda: state.forget_client(client_id))
    if kwargs.get("signal") is post_delete:
        # Every way a client goes (the admin, the portal, its project's deletion) sends this.
        audit.emit(audit.client_deleted, "client_deleted", client_id=client_id,
                   project_id=instance.project_id, name=instance.name)
        return
    was_active = getattr(instance, "_loaded_is_active", None)
    if kwargs.get("signal") is post_save and not kwargs.get("created") and \
            was_active is not None and was_active != instance.is_active:
        signal, event = ((audit.client_enabled, "client_enabled") if instance.is_active
                         else (audit.client_disabled, "client_disabled"))
        audit.emit(signal, event, client_id=client_id, project_id=instance.project_id)
        instance._loaded_is_active = instance.is_active


@receiver(post_save, sender=Project)
@receiver(post_delete, sender=Project)
def project_changed(instance: Project, **kwargs: Any) -> None:
    project_id = instance.pk
    state.forget_project(project_id)
    transaction.on_commit(lambda: state.forget_project(project_id))


@receiver(m2m_changed, sender=Client.scopes.through)
def client_scopes_changed(instance: Client | Scope, **kwargs: Any) -> None:
    """A client's allowed scopes changed here: its next token request sees them."""
    if isinstance(instance, Client):
        client_id = instance.client_id
        state.forget_client(client_id)
        transaction.on_commit(lambda: state.forget_client(client_id))
    else:  # changed from the scope's side: which clients is not worth working out
        state.clients.clear()


@receiver(post_save, sender=Scope)
@receiver(post_delete, sender=Scope)
def scope_changed(**kwargs: Any) -> None:
    """A scope was renamed or deleted here (a deletion sends no m2m_changed)."""
    state.clients.clear()
    transaction.on_commit(state.clients.clear)


@receiver(post_save, sender=RevokedToken)
def token_revoked(instance: RevokedToken, created: bool, **kwargs: Any) -> None:
    """Refuse a token revoked in this process at once (others re-read within STATE_TTL)."""
    state.revocations.add(instance.jti, instance.expires_at.timestamp())
