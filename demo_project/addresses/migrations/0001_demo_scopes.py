"""The demo API's scopes exist as soon as the database is migrated.

So `manage.py migrate` followed by `create_oauth_client NAME --scopes "address phone"` works
without running `demo_setup` first.
"""

from django.db import migrations

from demo_project.addresses.scopes import SCOPES


def create_demo_scopes(apps, schema_editor):
    scope_model = apps.get_model("oauth_cc", "Scope")
    for name, description in SCOPES.items():
        scope_model.objects.get_or_create(name=name, defaults={"description": description})


class Migration(migrations.Migration):

    dependencies = [("oauth_cc", "0002_revoked_token")]

    operations = [migrations.RunPython(create_demo_scopes, migrations.RunPython.noop)]
