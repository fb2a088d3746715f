"""Receivers that keep this process's caches in step with the database."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from oauth_cc import audit
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client, Project, RevokedToken, SigningKey
from oauth_cc.state import client_states


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
    client_states.forget(client_id)
    transaction.on_commit(lambda: client_states.forget(client_id))
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
    client_states.forget_project(project_id)
    transaction.on_commit(lambda: client_states.forget_project(project_id))


@receiver(post_save, sender=RevokedToken)
def token_revoked(instance: RevokedToken, created: bool, **kwargs: Any) -> None:
    """Refuse a token revoked in this process at once (others re-read within STATE_TTL)."""
    client_states.revoked(instance.jti)
