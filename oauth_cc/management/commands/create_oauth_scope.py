from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth_cc.models import Scope


class Command(BaseCommand):
    help = "Create a scope clients can be allowed, or update its description."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The scope name, e.g. address.")
        parser.add_argument("--description", default=None, help="What the scope grants.")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = Scope.objects.filter(name=options["name"]).first()
        created = scope is None
        if scope is None:
            scope = Scope(name=options["name"])
        if options["description"] is not None:
            scope.description = options["description"]
        try:
            scope.full_clean()
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from e
        scope.save()
        self.stdout.write(f"{'Created' if created else 'Updated'} scope {scope.name}")
