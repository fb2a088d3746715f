"""The admin side of the portal: staff choose a project's members and allowed scopes, and keep
full power over clients' scopes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client as HttpClient

from oauth_cc.models import Client, Project, Scope

PROJECTS = "/admin/oauth_cc/project/"


@pytest.fixture
def admin_http(db: None) -> HttpClient:
    http = HttpClient()
    http.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return http


def test_staff_edit_a_projects_members_and_scopes(admin_http: HttpClient,
                                                  scopes: dict[str, Scope]) -> None:
    customer = User.objects.create_user("customer")
    project = Project.objects.create(name="Acme")
    page = admin_http.get(f"{PROJECTS}{project.pk}/change/").content.decode()
    assert 'name="members"' in page and 'name="scopes"' in page
    assert "a permission of the client" in page  # introspection is labelled as such

    response = admin_http.post(f"{PROJECTS}{project.pk}/change/", {
        "name": "Acme", "is_active": "on", "members": [customer.pk],
        "scopes": [scopes["address"].pk, scopes["email"].pk],
        "clients-TOTAL_FORMS": "0", "clients-INITIAL_FORMS": "0",
        "clients-MIN_NUM_FORMS": "0", "clients-MAX_NUM_FORMS": "1000"})

    assert response.status_code == 302
    assert list(project.members.all()) == [customer]
    assert sorted(project.scopes.values_list("name", flat=True)) == ["address", "email"]


def test_staff_may_still_give_a_client_any_scope(admin_http: HttpClient,
                                                 scopes: dict[str, Scope]) -> None:
    project = Project.objects.create(name="Acme")
    project.scopes.set([scopes["address"]])
    response = admin_http.post("/admin/oauth_cc/client/add/", {
        "name": "Special", "project": project.pk, "is_active": "on",
        "scopes": [scopes["email"].pk, scopes["introspection"].pk]})
    assert response.status_code == 200
    client = Client.objects.get()
    assert sorted(client.scopes.values_list("name", flat=True)) == ["email", "introspection"]
    assert sorted(project.scopes.values_list("name", flat=True)) == ["address"]  # unchanged


def test_a_project_made_for_a_client_allows_what_the_client_has(scopes: dict[str, Scope]
                                                                ) -> None:
    client, _ = Client.objects.create_client("Partner", scopes=["address", "phone"])
    assert sorted(client.project.scopes.values_list("name", flat=True)) == ["address", "phone"]
    Client.objects.create_client("Second", project=client.project, scopes=["email"])
    assert "email" not in client.project.scopes.values_list("name", flat=True)
