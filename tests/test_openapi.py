"""OpenAPI with drf-spectacular (CONTRACT.md §13): the ``oauth2`` scheme, its token URL and
scopes, each operation's requirement from its ``HasScope`` compositions, the demo's schema
through drf-spectacular's own validation, and oauth_cc without drf-spectacular at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import path
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAdminUser, IsAuthenticated

from demo_project.addresses.scopes import SCOPES as DEMO_SCOPES
from oauth_cc.authentication import BearerJWTAuthentication
from oauth_cc.models import Client
from oauth_cc.permissions import HasScope
from oauth_cc.scopes import CLIENT_PERMISSIONS
from tests import api_views
from tests.api_views import Protected

ROOT = Path(__file__).resolve().parent.parent
Schema = dict[str, Any]


class AddressAndPhoneOrEmail(Protected):
    permission_classes = [(HasScope.of("address") & HasScope.of("phone")) | HasScope.of("email")]


class AddressAndPhoneOrEmailNested(Protected):
    permission_classes = [HasScope.of("address") & (HasScope.of("phone") | HasScope.of("email"))]


class EachInTheList(Protected):
    permission_classes = [HasScope.of("address"), HasScope.of("phone")]


class NotAdmin(Protected):
    permission_classes = [~HasScope.of("admin")]


class AddressNotAdmin(Protected):
    permission_classes = [HasScope.of("address") & ~HasScope.of("admin")]


class AddressOrStaff(Protected):
    permission_classes = [HasScope.of("address") | IsAdminUser]


class Redundant(Protected):
    permission_classes = [HasScope.of("address") | (HasScope.of("phone") & HasScope.of("address"))]


class OurSubclass(BearerJWTAuthentication):
    pass


class ViaSubclass(Protected):
    authentication_classes = [OurSubclass]
    permission_classes = [HasScope.of("email")]


class SessionOnly(Protected):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]


urlpatterns = [
    *api_views.urlpatterns,
    path("api/and-or", AddressAndPhoneOrEmail.as_view()),
    path("api/and-of-or", AddressAndPhoneOrEmailNested.as_view()),
    path("api/list", EachInTheList.as_view()),
    path("api/not-admin", NotAdmin.as_view()),
    path("api/address-not-admin", AddressNotAdmin.as_view()),
    path("api/address-or-staff", AddressOrStaff.as_view()),
    path("api/redundant", Redundant.as_view()),
    path("api/subclass", ViaSubclass.as_view()),
    path("api/session", SessionOnly.as_view()),
]


@pytest.fixture
def generate(settings: Any, scopes: dict[str, Any]) -> Callable[..., Schema]:
    """``generate()``: the schema of this module's views, by drf-spectacular's generator."""
    pytest.importorskip("drf_spectacular", reason="the [openapi] extra is not installed")
    from drf_spectacular.generators import SchemaGenerator

    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

    def generate(patterns: list[Any] = urlpatterns) -> Schema:
        return dict(SchemaGenerator(patterns=patterns).get_schema(request=None, public=True))

    return generate


def security(schema: Schema, url: str) -> list[dict[str, list[str]]] | None:
    operation: dict[str, Any] = schema["paths"][url]["get"]
    return operation.get("security")


def test_the_extension_is_registered_when_drf_spectacular_is_installed() -> None:
    pytest.importorskip("drf_spectacular", reason="the [openapi] extra is not installed")
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    from oauth_cc.openapi import BearerJWTScheme

    assert BearerJWTScheme in OpenApiAuthenticationExtension._registry
    assert BearerJWTScheme.optional is True
    assert isinstance(OpenApiAuthenticationExtension.get_match(OurSubclass()), BearerJWTScheme)


def test_the_scheme_is_oauth2_client_credentials_with_our_token_url_and_scopes(
        generate: Callable[..., Schema], settings: Any) -> None:
    settings.OAUTH_CC = {"ISSUER": "https://api.example.com/tenant-a"}
    scheme = generate()["components"]["securitySchemes"]["OAuth2"]
    assert scheme["type"] == "oauth2"
    # As in the metadata: the issuer's scheme and host, and where oauth_cc.urls is mounted.
    assert scheme["flows"] == {"clientCredentials": {
        "tokenUrl": "https://api.example.com/oauth/token",
        "scopes": {"address": "address APIs", "email": "email APIs", "phone": "phone APIs"},
    }}
    assert not CLIENT_PERMISSIONS & set(scheme["flows"]["clientCredentials"]["scopes"])
    assert "RFC 6749 §4.4" in scheme["description"]
    assert "DPoP" not in scheme["description"]


@pytest.mark.parametrize(("url", "requirement"), [
    ("/api/address", [{"OAuth2": ["address"]}]),                          # required_scopes
    ("/api/address-and-phone", [{"OAuth2": ["address", "phone"]}]),
    ("/api/phone", [{"OAuth2": ["phone"]}]),                              # HasScope.of
    ("/api/list", [{"OAuth2": ["address", "phone"]}]),                    # the list is "&"
    # OR: alternative requirements; AND: one requirement with every scope.
    ("/api/address-or-email", [{"OAuth2": ["address"]}, {"OAuth2": ["email"]}]),
    ("/api/and-or", [{"OAuth2": ["address", "phone"]}, {"OAuth2": ["email"]}]),
    ("/api/and-of-or", [{"OAuth2": ["address", "phone"]}, {"OAuth2": ["address", "email"]}]),
    ("/api/redundant", [{"OAuth2": ["address"]}]),
    # Other permissions and negation ask for no scope: necessary, not sufficient.
    ("/api/address-and-authenticated", [{"OAuth2": ["address"]}]),
    ("/api/address-not-admin", [{"OAuth2": ["address"]}]),
    ("/api/not-email", [{"OAuth2": []}]),
    ("/api/not-admin", [{"OAuth2": []}]),
    ("/api/address-or-staff", [{"OAuth2": []}]),
    ("/api/subclass", [{"OAuth2": ["email"]}]),                           # a subclass of ours
])
def test_each_operation_requires_the_scopes_of_its_has_scope(
        generate: Callable[..., Schema], url: str, requirement: list[dict[str, list[str]]]
) -> None:
    assert security(generate(), url) == requirement


def test_views_without_our_authentication_get_no_oauth2_requirement(
        generate: Callable[..., Schema]) -> None:
    schema = generate()
    assert security(schema, "/api/plain") is None
    assert security(schema, "/api/session") == [{"cookieAuth": []}]


def test_a_view_that_declares_no_scopes_is_a_generator_warning(
        generate: Callable[..., Schema], capsys: pytest.CaptureFixture[str]) -> None:
    assert security(generate(), "/api/misconfigured") == [{"OAuth2": []}]
    assert "Misconfigured uses HasScope but declares no required_scopes" in capsys.readouterr().err


def test_the_scheme_is_built_once_per_schema(
        generate: Callable[..., Schema], django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(2):  # the scopes, and whether a client needs DPoP
        schema = generate()
    assert len(schema["paths"]) > 10


def test_without_the_token_endpoint_mounted_the_token_url_comes_from_settings(
        generate: Callable[..., Schema], settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from drf_spectacular.settings import patched_settings

    settings.ROOT_URLCONF = "tests.test_openapi"  # a resource server: no oauth_cc.urls
    with patched_settings({"OAUTH2_TOKEN_URL": "https://issuer.example/o/token"}):
        flow = generate()["components"]["securitySchemes"]["OAuth2"]["flows"]
    assert flow["clientCredentials"]["tokenUrl"] == "https://issuer.example/o/token"
    assert "OAUTH2_TOKEN_URL" not in capsys.readouterr().err

    flow = generate()["components"]["securitySchemes"]["OAuth2"]["flows"]
    assert flow["clientCredentials"]["tokenUrl"] == "https://issuer.test/oauth/token"
    assert "Set SPECTACULAR_SETTINGS['OAUTH2_TOKEN_URL']" in capsys.readouterr().err


def test_dpop_is_mentioned_only_when_a_client_requires_it(
        generate: Callable[..., Schema], make_client: Callable[..., Any]) -> None:
    from oauth_cc.openapi import dpop_required_by_a_client

    assert not dpop_required_by_a_client()
    if not any(f.name == "require_dpop" for f in Client._meta.get_fields()):
        return  # before DPoP: the hook stays quiet
    make_client(require_dpop=True)
    assert dpop_required_by_a_client()
    assert "DPoP" in generate()["components"]["securitySchemes"]["OAuth2"]["description"]


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    pytest.importorskip("drf_spectacular_sidecar", reason="the [openapi] extra is not installed")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "OAUTH_CC_ISSUER": "http://127.0.0.1:8765"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    return env


def test_the_demo_schema_passes_drf_spectacular_validation_without_warnings(
        demo_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    done = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
         "--format", "openapi-json", "--file", str(out)],
        cwd=ROOT, env=demo_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Schema generation summary" not in done.stderr  # printed for warnings or errors
    schema = json.loads(out.read_text())
    assert schema["components"]["securitySchemes"]["OAuth2"]["flows"] == {"clientCredentials": {
        "tokenUrl": "http://127.0.0.1:8765/oauth/token", "scopes": DEMO_SCOPES}}
    autocomplete = schema["paths"]["/api/au/address/autocomplete/"]["get"]
    assert autocomplete["security"] == [{"OAuth2": ["address"]}]
    parameters = {p["name"]: p["schema"] for p in autocomplete["parameters"]}
    # The limits the views enforce are constraints, not only prose: clients and generated
    # tests (schemathesis) can read them.
    assert parameters["q"] == {"type": "string", "minLength": 1, "maxLength": 500}
    assert parameters["max"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                 "default": 10}
    assert schema["paths"]["/api/phone/verification/"]["get"]["security"] == [
        {"OAuth2": ["phone"]}]
    assert all(url.startswith("/api/") for url in schema["paths"])


def test_the_demo_serves_the_schema_and_a_self_hosted_swagger_ui(
        demo_env: dict[str, str]) -> None:
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "docs = Client().get('/api/docs/')\n"
        "schema = Client().get('/api/schema/', headers={'Accept': 'application/json'})\n"
        "home = Client().get('/').content.decode()\n"
        "print(json.dumps([docs.status_code, docs.content.decode(), schema.status_code,\n"
        "                  list(schema.json()['components']['securitySchemes']),\n"
        "                  'href=\"/api/docs/\"' in home]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=demo_env,
                          capture_output=True, text=True, timeout=120, check=True)
    docs_status, html, schema_status, schemes, home_links_docs = json.loads(done.stdout)
    assert docs_status == 200 and schema_status == 200
    assert schemes == ["OAuth2"]
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "//cdn" not in html and "https://" not in html  # nothing from a CDN
    assert home_links_docs


def test_oauth_cc_works_without_drf_spectacular() -> None:
    """Without the [openapi] extra: oauth_cc never imports drf-spectacular, and works."""
    script = (
        "import sys\n"
        "sys.modules['drf_spectacular'] = None  # as if it were not installed\n"
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.test import Client\n"
        "from oauth_cc.testing import bearer, mint_token\n"
        "call_command('migrate', verbosity=0)\n"
        "call_command('check', fail_level='ERROR')\n"
        "answer = Client().get('/api/address', headers=bearer(mint_token(scopes=['address'])))\n"
        "print(answer.status_code, 'oauth_cc.openapi' in sys.modules,\n"
        "      sorted(m for m, v in sys.modules.items()\n"
        "             if m.startswith('drf_spectacular') and v is not None))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    for name in ("DATABASE_URL", "REDIS_URL"):  # the in-memory database and cache
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["200", "False", "[]"]
