"""Prepare the demo: scopes, an admin user, a customer who manages the demo project in the
portal, and a demo client, then print how to call it.

Safe to run again: it reuses what exists, and gives the admin, the customer and the demo client
new credentials (each secret is shown only when it is made).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo_project.addresses.scopes import SCOPES
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client, Project, Scope

DEMO_CLIENT = "Demo client"
CUSTOMER = "customer"


class Command(BaseCommand):
    help = ("Create the demo's scopes, admin and customer users and client, and print "
            "ready-to-paste curl lines.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name, description in SCOPES.items():
            Scope.objects.update_or_create(name=name, defaults={"description": description})

        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        admin = user_model.objects.filter(username="admin").first()
        if admin is None:
            user_model.objects.create_superuser("admin", "admin@example.com", password)
        else:
            admin.set_password(password)
            admin.save(update_fields=["password"])

        client = Client.objects.filter(name=DEMO_CLIENT).first()
        if client is None:
            project = Project.objects.get_or_create(name="Demo project")[0]
            client, secret = Client.objects.create_client(
                DEMO_CLIENT, project=project, scopes=list(SCOPES))
        else:
            secret = client.regenerate_secret(grace_seconds=0)
        key_ring.signing_key()  # the first signing key, so the JWKS is not empty

        # A customer (not staff) who manages the demo project in the portal, which offers
        # the project's scopes.
        customer_password = secrets.token_urlsafe(12)
        customer = user_model.objects.filter(username=CUSTOMER).first()
        if customer is None:
            customer = user_model.objects.create_user(
                CUSTOMER, "customer@example.com", customer_password)
        else:
            customer.set_password(customer_password)
            customer.save(update_fields=["password"])
        client.project.members.add(customer)
        client.project.scopes.set(Scope.objects.filter(name__in=SCOPES))

        base = str(settings.OAUTH_CC["ISSUER"]).rstrip("/")
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("django-oauth-cc demo is ready."))
        out(f"  Admin:         {base}/admin/   user admin   password {password}")
        out(f"  Portal:        {base}/portal/   user {CUSTOMER}   password {customer_password}")
        out(f"  API docs:      {base}/api/docs/   (Swagger UI: Authorize with the client below)")
        out(f"  client_id:     {client.client_id}")
        out(f"  client_secret: {secret}")
        out("  (the secret is stored only as a hash: copy it now)")
        out("")
        token_call = (f'curl -X POST {base}/oauth/token \\\n'
                      f'    -d "grant_type=client_credentials" \\\n'
                      f'    -d "client_id={client.client_id}" \\\n'
                      f'    -d "client_secret={secret}" \\\n'
                      f'    -d "scope=address phone"')
        out("1. Get a token (as in the product document):")
        out("  " + token_call)
        out("")
        out("2. Call the API with it (here the token goes into $TOKEN first):")
        out(f"  TOKEN=$({token_call.replace('curl -X POST', 'curl -s -X POST')} \\\n"
            "    | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
        out(f'  curl -H "Authorization: Bearer $TOKEN" \\\n'
            f'    "{base}/api/au/address/autocomplete/?q=274+Harb&source=GNAF,PAF&format=json"')
        out(f'  curl -H "Authorization: Bearer $TOKEN" \\\n'
            f'    "{base}/api/au/address/v2/verification/?q=274+Harbour+Drive%2C+COFFS+HARBOUR'
            f'+NSW+2450&format=json"')
        out(f'  curl -H "Authorization: Bearer $TOKEN" \\\n'
            f'    "{base}/api/phone/verification/?phone_number=0123456&country_code=AU'
            f'&format=json"')
        out("")
        out("3. The public signing keys, to verify tokens yourself:")
        out(f"  curl {base}/.well-known/jwks.json")
        out("")
