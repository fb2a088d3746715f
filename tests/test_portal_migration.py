"""Migration 0004: each existing project is allowed the scopes its clients already have."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("oauth_cc", "0003_revoked_at_index")]
AFTER = [("oauth_cc", "0004_project_members_scopes")]


@pytest.fixture
def executor(transactional_db: None) -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest, for the others


def test_projects_get_their_clients_scopes(executor: MigrationExecutor) -> None:
    old = executor.loader.project_state(BEFORE).apps
    scope = old.get_model("oauth_cc", "Scope")
    project = old.get_model("oauth_cc", "Project")
    client = old.get_model("oauth_cc", "Client")
    address, phone, _email = (scope.objects.get_or_create(name=name)[0]
                              for name in ("address", "phone", "email"))
    introspection = scope.objects.get_or_create(name="introspection")[0]
    acme, _bare, special = (project.objects.create(name=name)
                            for name in ("Acme", "No clients", "Special"))
    for number, (owner, scopes) in enumerate([
            (acme, [address]), (acme, [address, phone]), (acme, []),
            (special, [introspection])]):
        made = client.objects.create(project=owner, name=f"c{number}", client_id=f"id{number}",
                                     secret_hash="x")
        made.scopes.set(scopes)

    executor.loader.build_graph()
    executor.migrate(AFTER)

    new = executor.loader.project_state(AFTER).apps.get_model("oauth_cc", "Project")
    allowed = {p.name: sorted(p.scopes.values_list("name", flat=True))
               for p in new.objects.all()}
    assert allowed == {"Acme": ["address", "phone"], "No clients": [],
                       "Special": ["introspection"]}  # staff gave it: the portal offers it
    assert all(not p.members.exists() for p in new.objects.all())


def test_it_reverses(executor: MigrationExecutor) -> None:
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(BEFORE)
    columns = [table.name for table in connection.introspection.get_table_list(
        connection.cursor())]
    assert "oauth_cc_project_scopes" not in columns
