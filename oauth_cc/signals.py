"""Receivers that keep this process's caches in step with the database."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from oauth_cc.keyring import key_ring
from oauth_cc.models import SigningKey


@receiver(post_save, sender=SigningKey)
@receiver(post_delete, sender=SigningKey)
def signing_keys_changed(**kwargs: Any) -> None:
    """A key was created, rotated or deleted here: re-read the active key on next use."""
    key_ring.forget_active()
