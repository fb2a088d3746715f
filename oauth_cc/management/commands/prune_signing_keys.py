from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from oauth_cc.models import SigningKey


class Command(BaseCommand):
    help = "Delete retired signing keys that can no longer verify any live token."

    def handle(self, *args: Any, **options: Any) -> None:
        kids = SigningKey.objects.prune()
        for kid in kids:
            self.stdout.write(f"Deleted {kid}")
        self.stdout.write(f"Pruned {len(kids)} signing key(s).")
