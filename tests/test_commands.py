"""The management commands: thin, printing what the contract says, failing with CommandError."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from oauth_cc import credentials
from oauth_cc.models import Client, Project, Scope, SigningKey, retired_key_lifetime

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_oauth_client_prints_id_and_secret_once(scopes):
    out = run("create_oauth_client", "Acme", "--scopes", "address phone")
    client = Client.objects.get()
    assert f"client_id:     {client.client_id}" in out
    secret = out.split("client_secret: ")[1].split()[0]
    assert credentials.check_secret(secret, client.secret_hash) == (True, False)
    assert client.project.name == "Acme"
    assert sorted(client.scopes.values_list("name", flat=True)) == ["address", "phone"]
    assert "cannot be shown again" in out


def test_create_oauth_client_json(scopes):
    project = Project.objects.create(name="Existing")
    out = run("create_oauth_client", "svc", "--project", str(project.pk), "--json",
              "--scopes", "email")
    data = json.loads(out)
    assert set(data) == {"client_id", "client_secret", "project"}
    assert data["project"] == str(project.pk)
    client = Client.objects.get(client_id=data["client_id"])
    assert client.project == project
    assert credentials.check_secret(data["client_secret"], client.secret_hash)[0]


def test_create_oauth_client_unknown_scope_is_an_error(scopes):
    with pytest.raises(CommandError, match="nope"):
        run("create_oauth_client", "Acme", "--scopes", "address nope")
    assert not Client.objects.exists()
    assert not Scope.objects.filter(name="nope").exists()


def test_create_oauth_client_bad_scope_syntax(scopes):
    with pytest.raises(CommandError):
        run("create_oauth_client", "Acme", "--scopes", 'bad"scope')


def test_create_oauth_client_unknown_project(scopes):
    with pytest.raises(CommandError, match="no project with id 999"):
        run("create_oauth_client", "Acme", "--project", "999")


def test_create_oauth_client_exits_non_zero(scopes):
    from django.core.management import execute_from_command_line

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "create_oauth_client", "x", "--scopes", "nope"])
    assert exited.value.code != 0


def _jwk_set(kid="k1"):
    from tests.test_client_assertion import private_key, public_jwk

    return {"keys": [public_jwk(private_key("EC"), kid)]}


def test_create_oauth_client_with_a_jwk_set_file(scopes, tmp_path):
    path = tmp_path / "jwks.json"
    document = _jwk_set("laptop-2026")
    path.write_text(json.dumps(document))
    out = run("create_oauth_client", "Acme", "--scopes", "address", "--jwks", str(path))
    client = Client.objects.get()
    assert (client.auth_method, client.jwks, client.secret_hash) == (
        "private_key_jwt", document, "")
    assert f"client_id:     {client.client_id}" in out
    assert "auth_method:   private_key_jwt" in out
    assert "keys:          laptop-2026" in out
    assert "client_secret" not in out
    assert "no secret" in out


def test_create_oauth_client_with_a_jwks_uri_json(scopes):
    out = run("create_oauth_client", "svc", "--json", "--jwks-uri",
              "https://svc.example/.well-known/jwks.json")
    data = json.loads(out)
    client = Client.objects.get()
    assert data == {"client_id": client.client_id, "auth_method": "private_key_jwt",
                    "project": str(client.project_id)}
    assert client.jwks_uri == "https://svc.example/.well-known/jwks.json"
    assert client.secret_hash == ""


@pytest.mark.parametrize(("content", "text"), [
    ('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "symmetric"),
    ("not json", "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
    ('{"keys": []}', "no keys"),
])
def test_create_oauth_client_with_a_bad_jwk_set_file(scopes, tmp_path, content, text):
    path = tmp_path / "jwks.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(CommandError, match=text):
        run("create_oauth_client", "Acme", "--jwks", str(path))
    assert not Client.objects.exists()
    assert not Project.objects.exists()


def test_create_oauth_client_with_a_missing_or_huge_jwk_set_file(scopes, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("create_oauth_client", "Acme", "--jwks", str(tmp_path / "missing.json"))
    huge = tmp_path / "huge.json"
    huge.write_text(" " * 70_000)
    with pytest.raises(CommandError, match="larger than"):
        run("create_oauth_client", "Acme", "--jwks", str(huge))


def test_create_oauth_client_with_a_bad_jwks_uri(scopes):
    with pytest.raises(CommandError, match="https"):
        run("create_oauth_client", "Acme", "--jwks-uri", "http://svc.example/jwks")
    assert not Client.objects.exists()


def test_create_oauth_client_jwks_and_jwks_uri_are_exclusive(scopes, tmp_path):
    from django.core.management import execute_from_command_line

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwk_set()))
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "create_oauth_client", "x", "--jwks", str(path),
                                   "--jwks-uri", "https://svc.example/jwks"])
    assert exited.value.code != 0
    assert not Client.objects.exists()


def test_create_oauth_client_with_keys_and_unknown_scopes(scopes, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwk_set()))
    with pytest.raises(CommandError, match="nope"):
        run("create_oauth_client", "Acme", "--scopes", "nope", "--jwks", str(path))


def test_create_oauth_scope():
    assert "Created scope address" in run("create_oauth_scope", "address", "--description",
                                          "Address APIs")
    assert Scope.objects.get(name="address").description == "Address APIs"
    assert "Updated scope address" in run("create_oauth_scope", "address", "--description",
                                          "New")
    assert Scope.objects.get(name="address").description == "New"
    with pytest.raises(CommandError):
        run("create_oauth_scope", "has space")


def test_rotate_signing_key_prints_the_new_active_kid():
    kid = run("rotate_signing_key").strip()
    assert SigningKey.objects.get(state="active").kid == kid
    upcoming = SigningKey.objects.get(state="next").kid
    assert run("rotate_signing_key").strip() == upcoming
    out, err = StringIO(), StringIO()
    call_command("rotate_signing_key", "--algorithm", "ES256", stdout=out, stderr=err)
    assert SigningKey.objects.get(kid=out.getvalue().strip()).algorithm == "RS256"
    assert "The new next key is ES256; it signs from the following rotation." in err.getvalue()
    assert SigningKey.objects.get(state="next").algorithm == "ES256"
    kid = run("rotate_signing_key").strip()
    assert SigningKey.objects.get(kid=kid).algorithm == "ES256"


def test_rotate_signing_key_with_an_algorithm_and_no_next_key_signs_with_it_at_once():
    kid = run("rotate_signing_key", "--algorithm", "EdDSA").strip()
    assert SigningKey.objects.get(state="active").kid == kid
    assert SigningKey.objects.get(kid=kid).algorithm == "EdDSA"
    assert SigningKey.objects.get(state="next").algorithm == "EdDSA"


def test_rotate_signing_key_rejects_unknown_algorithms():
    with pytest.raises(CommandError):
        run("rotate_signing_key", "--algorithm", "HS256")


def test_prune_signing_keys(frozen_clock):
    first = run("rotate_signing_key").strip()
    run("rotate_signing_key")
    assert "Pruned 0" in run("prune_signing_keys")
    frozen_clock.advance(retired_key_lifetime().total_seconds())
    out = run("prune_signing_keys")
    assert f"Deleted {first}" in out and "Pruned 1" in out
