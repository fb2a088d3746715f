from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from oauth_cc.keys import SUPPORTED_ALGORITHMS
from oauth_cc.models import SigningKey


class Command(BaseCommand):
    help = ("Promote the next signing key to active, retire the active one and create a new "
            "next key. Prints the new active key's kid.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--algorithm", choices=SUPPORTED_ALGORITHMS,
                            help="Algorithm of the new next key, which signs from the following "
                                 "rotation on (default: that of the promoted key). A key never "
                                 "signs before it was published.")

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm = options["algorithm"]
        key = SigningKey.objects.rotate(algorithm)
        self.stdout.write(key.kid)
        if algorithm and key.algorithm != algorithm:
            # stdout stays the kid alone, for scripts; the explanation goes to stderr.
            self.stderr.write(
                f"The active key is {key.algorithm}: the previous next key, already published. "
                f"The new next key is {algorithm}; it signs from the following rotation.")
