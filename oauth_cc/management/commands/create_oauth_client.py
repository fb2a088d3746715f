from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth_cc.client_jwks import MAX_DOCUMENT_BYTES, key_ids
from oauth_cc.exceptions import InvalidScope
from oauth_cc.models import Client, Project, UnknownScopes
from oauth_cc.scopes import parse_scope


class Command(BaseCommand):
    help = ("Create an OAuth2 client and print its id and secret. The secret is shown only "
            "this once. With --jwks or --jwks-uri the client has no secret: it authenticates "
            "with private_key_jwt.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The client's name.")
        parser.add_argument("--scopes", default="",
                            help='Space-separated scopes the client may request, e.g. '
                                 '"address phone". Each must exist.')
        parser.add_argument("--project", type=int, metavar="ID",
                            help="The id of an existing project; without it a project named "
                                 "NAME is created.")
        parser.add_argument("--json", action="store_true",
                            help="Print one JSON object with client_id, client_secret, project "
                                 "(with --jwks or --jwks-uri: client_id, auth_method, project).")
        parser.add_argument("--require-dpop", action="store_true",
                            help="Give the client only DPoP-bound tokens (RFC 9449): its token "
                                 "requests must carry a DPoP proof.")
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument("--jwks", metavar="FILE",
                          help="A JSON file holding the client's public JWK Set: the client "
                               "gets no secret and authenticates with private_key_jwt.")
        keys.add_argument("--jwks-uri", metavar="URL",
                          help="The https URL of the client's public JWK Set: the client gets "
                               "no secret and authenticates with private_key_jwt.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = None
        if options["project"] is not None:
            try:
                project = Project.objects.get(pk=options["project"])
            except Project.DoesNotExist as e:
                raise CommandError(f"There is no project with id {options['project']}.") from e
        secretless = options["jwks"] is not None or options["jwks_uri"] is not None
        try:
            scopes = parse_scope(options["scopes"])
            if secretless:
                client = Client.objects.create_secretless_client(
                    options["name"], project=project, scopes=scopes,
                    jwks=self.read_jwks(options["jwks"]), jwks_uri=options["jwks_uri"] or "",
                    require_dpop=options["require_dpop"])
                self.report_secretless(client, options)
                return
            client, secret = Client.objects.create_client(
                options["name"], project=project, scopes=scopes,
                require_dpop=options["require_dpop"])
        except UnknownScopes as e:
            raise CommandError(f"{e}. Create scopes with create_oauth_scope first.") from e
        except InvalidScope as e:
            raise CommandError(e.description) from e
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from e
        if options["json"]:
            self.stdout.write(json.dumps({"client_id": client.client_id,
                                          "client_secret": secret,
                                          "project": str(client.project_id),
                                          **self.dpop_fields(client)}))
            return
        self.stdout.write(f"client_id:     {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write(f"project:       {client.project_id} ({client.project.name})")
        self.stdout.write(f"scopes:        {' '.join(sorted(options['scopes'].split())) or '-'}")
        self.report_dpop(client)
        self.stdout.write(self.style.WARNING(
            "Copy the secret now: it is stored only as a hash and cannot be shown again."))

    def read_jwks(self, path: str | None) -> str | None:
        """The text of the JWK Set file at ``path`` (None without one)."""
        if path is None:
            return None
        try:
            with Path(path).open("rb") as file:
                data = file.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as e:
            raise CommandError(f"Cannot read the JWK Set file {path}: {e.strerror}.") from e
        if len(data) > MAX_DOCUMENT_BYTES:
            raise CommandError(f"The JWK Set file {path} is larger than {MAX_DOCUMENT_BYTES} "
                               "bytes.")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise CommandError(f"The JWK Set file {path} is not UTF-8 text.") from e

    def report_secretless(self, client: Client, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({"client_id": client.client_id,
                                          "auth_method": client.auth_method,
                                          "project": str(client.project_id),
                                          **self.dpop_fields(client)}))
            return
        self.stdout.write(f"client_id:     {client.client_id}")
        self.stdout.write(f"auth_method:   {client.auth_method}")
        if client.jwks is not None:
            self.stdout.write(f"keys:          {', '.join(key_ids(client.jwks))}")
        else:
            self.stdout.write(f"jwks_uri:      {client.jwks_uri}")
        self.stdout.write(f"project:       {client.project_id} ({client.project.name})")
        self.stdout.write(f"scopes:        {' '.join(sorted(options['scopes'].split())) or '-'}")
        self.report_dpop(client)
        self.stdout.write("The client has no secret: it authenticates with assertions signed "
                          "by its private key (private_key_jwt).")

    def dpop_fields(self, client: Client) -> dict[str, bool]:
        """``{"require_dpop": true}`` for a client that must use DPoP; nothing otherwise, so
        the JSON of other clients stays as it was."""
        return {"require_dpop": True} if client.require_dpop else {}

    def report_dpop(self, client: Client) -> None:
        if client.require_dpop:
            self.stdout.write("dpop:          required (tokens are DPoP-bound, RFC 9449)")
