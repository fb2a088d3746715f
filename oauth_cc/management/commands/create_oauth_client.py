from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth_cc.exceptions import InvalidScope
from oauth_cc.models import Client, Project, UnknownScopes
from oauth_cc.scopes import parse_scope


class Command(BaseCommand):
    help = ("Create an OAuth2 client and print its id and secret. The secret is shown only "
            "this once.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The client's name.")
        parser.add_argument("--scopes", default="",
                            help='Space-separated scopes the client may request, e.g. '
                                 '"address phone". Each must exist.')
        parser.add_argument("--project", type=int, metavar="ID",
                            help="The id of an existing project; without it a project named "
                                 "NAME is created.")
        parser.add_argument("--json", action="store_true",
                            help="Print one JSON object with client_id, client_secret, project.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = None
        if options["project"] is not None:
            try:
                project = Project.objects.get(pk=options["project"])
            except Project.DoesNotExist as e:
                raise CommandError(f"There is no project with id {options['project']}.") from e
        try:
            client, secret = Client.objects.create_client(
                options["name"], project=project, scopes=parse_scope(options["scopes"]))
        except UnknownScopes as e:
            raise CommandError(f"{e}. Create scopes with create_oauth_scope first.") from e
        except InvalidScope as e:
            raise CommandError(e.description) from e
        if options["json"]:
            self.stdout.write(json.dumps({"client_id": client.client_id,
                                          "client_secret": secret,
                                          "project": str(client.project_id)}))
            return
        self.stdout.write(f"client_id:     {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write(f"project:       {client.project_id} ({client.project.name})")
        self.stdout.write(f"scopes:        {' '.join(sorted(options['scopes'].split())) or '-'}")
        self.stdout.write(self.style.WARNING(
            "Copy the secret now: it is stored only as a hash and cannot be shown again."))
