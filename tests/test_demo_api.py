"""The demo's fake address API (CONTRACT.md section 7), under the test settings.

The demo's URLs and its seed-format error renderer are switched on per test; tokens come from
``oauth_cc.testing``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from demo_project.addresses import make_sample_data
from oauth_cc import clock
from oauth_cc.models import Client
from oauth_cc.testing import bearer, mint_token
from tests.conftest import T0

pytestmark = pytest.mark.django_db

AUTOCOMPLETE_AU = "/api/au/address/autocomplete/"
AUTOCOMPLETE_NZ = "/api/nz/address/autocomplete/"
VERIFY_AU = "/api/au/address/v2/verification/"
PHONE = "/api/phone/verification/"
EMAIL = "/api/email/verification/"

SEED_ADDRESS = "274 Harbour Drive, COFFS HARBOUR NSW 2450"
INVALID_TOKEN = {"completions": [], "message": "Invalid or expired bearer token",
                 "error_code": "1024", "success": False}
PROJECT_NOT_FOUND = {"completions": [], "message": "Project not found for bearer token",
                     "error_code": "1025", "success": False}
MISSING_SCOPE = {"completions": [], "message": "Bearer token lacks a required scope",
                 "error_code": "1026", "success": False}


@pytest.fixture(autouse=True)
def _demo_urls_and_errors() -> Iterator[None]:
    with override_settings(ROOT_URLCONF="demo_project.urls",
                           OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "ERROR_RENDERER": "demo_project.addresses.errors.seed_error"}):
        yield


@pytest.fixture
def token() -> str:
    return mint_token(scopes=["address", "phone", "email"])


def get(http: HttpClient, path: str, token: str | None = None, **params: str) -> Any:
    headers = bearer(token) if token else {}
    return http.get(path, {**params, "format": "json"}, headers=headers)


def sample(country: str) -> list[dict[str, str]]:
    return json.loads(make_sample_data.DATA_PATH.read_text(encoding="utf-8"))[country]


def seed_record() -> dict[str, str]:
    return next(a for a in sample("au") if a["full_address"] == SEED_ADDRESS)


# -- autocomplete ---------------------------------------------------------------------------

def test_au_autocomplete_answers_the_seed_example(http, token):
    response = get(http, AUTOCOMPLETE_AU, token, q="274 Harb", source="GNAF,PAF")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "completions": [{"full_address": SEED_ADDRESS, "id": seed_record()["id"]}],
        "paid": False, "demo": True, "success": True}


def test_format_json_is_optional(http, token):
    response = http.get(AUTOCOMPLETE_AU, {"q": "274 Harb"}, headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["completions"][0]["full_address"] == SEED_ADDRESS


@pytest.mark.parametrize("q", ["274 HARB", "274 harbour dr", "274 Harbour Dr, Coffs",
                               "  274   harbour  ", "274 Harbour Drive, COFFS HARBOUR NSW 2450"])
def test_autocomplete_ignores_case_punctuation_spacing_and_abbreviations(http, token, q):
    completions = get(http, AUTOCOMPLETE_AU, token, q=q).json()["completions"]
    assert [c["full_address"] for c in completions] == [SEED_ADDRESS]


def test_autocomplete_matches_inside_the_address_prefix_matches_first(http, token):
    completions = get(http, AUTOCOMPLETE_AU, token, q="coffs harbour", max="100").json()[
        "completions"]
    expected = [a["full_address"] for a in sample("au") if "COFFS HARBOUR" in a["full_address"]]
    assert sorted(c["full_address"] for c in completions) == sorted(expected)
    assert len(expected) > 1

    # Inside means from the start of a word: "arbour" is not "Harbour".
    assert get(http, AUTOCOMPLETE_AU, token, q="arbour").json()["completions"] == []


def test_autocomplete_prefix_matches_come_before_the_others(http, token):
    first = sample("au")[0]["full_address"]
    number = first.split()[0]
    completions = get(http, AUTOCOMPLETE_AU, token, q=number, max="100").json()["completions"]
    addresses = [c["full_address"] for c in completions]
    prefixed = [a for a in addresses if a.startswith(number + " ")]
    assert prefixed and addresses[:len(prefixed)] == prefixed


def test_autocomplete_max_defaults_to_10_and_is_honoured(http, token):
    assert len(get(http, AUTOCOMPLETE_AU, token, q="street").json()["completions"]) == 10
    assert len(get(http, AUTOCOMPLETE_AU, token, q="street", max="3").json()["completions"]) == 3
    many = get(http, AUTOCOMPLETE_AU, token, q="nsw", max="100").json()["completions"]
    assert len(many) == min(100, sum("NSW" in a["full_address"] for a in sample("au")))
    assert len(many) > 10


@pytest.mark.parametrize("value", ["0", "101", "-1", "1.5", "ten", "٣", "9" * 5000])
def test_autocomplete_rejects_a_bad_max(http, token, value):
    response = get(http, AUTOCOMPLETE_AU, token, q="274 Harb", max=value)
    assert response.status_code == 400
    assert response.json() == {
        "completions": [], "message": "The max query parameter must be an integer from 1 to 100.",
        "error_code": "1002", "success": False}


def test_autocomplete_finds_nothing_for_an_unknown_address(http, token):
    response = get(http, AUTOCOMPLETE_AU, token, q="999 Nowhere Street")
    assert response.status_code == 200
    assert response.json() == {"completions": [], "paid": False, "demo": True, "success": True}


def test_nz_autocomplete_answers_from_nz_addresses_only(http, token):
    response = get(http, AUTOCOMPLETE_NZ, token, q="kaiapoi", max="100")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["demo"] is True
    expected = {a["id"] for a in sample("nz") if "Kaiapoi" in a["full_address"]}
    assert expected and {c["id"] for c in body["completions"]} == expected
    assert get(http, AUTOCOMPLETE_NZ, token, q="274 Harb").json()["completions"] == []


def test_nz_autocomplete_by_street(http, token):
    record = sample("nz")[5]
    typed = record["full_address"][:len(record["street_number"]) + 4].lower()
    completions = get(http, AUTOCOMPLETE_NZ, token, q=typed).json()["completions"]
    assert {"full_address": record["full_address"], "id": record["id"]} in completions


def test_q_too_long_is_refused(http, token):
    response = get(http, AUTOCOMPLETE_AU, token, q="a" * 501)
    assert response.status_code == 400
    assert response.json()["error_code"] == "1002"


@pytest.mark.parametrize("with_token", [True, False])
def test_a_query_with_more_parameters_than_django_reads_is_a_seed_error(http, token, settings,
                                                                        with_token):
    # Django's TooManyFieldsSent, raised where DRF first reads the query (content
    # negotiation), was its bare HTML 400, and a 500 with DEBUG on.
    params = {f"a{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = get(http, AUTOCOMPLETE_AU, token if with_token else None, q="274", **params)
    assert response.status_code == 400
    assert response.json()["error_code"] == "1002"
    assert "parameters" in response.json()["message"]


# -- address verification -------------------------------------------------------------------

@pytest.mark.parametrize("q", [
    SEED_ADDRESS,
    "274 harbour drive, coffs harbour nsw 2450",
    "274 Harbour Dr, COFFS HARBOUR NSW 2450",
    "274 Harbour Dr. Coffs Harbour NSW 2450",
    "  274  HARBOUR   DRIVE COFFS HARBOUR, NSW, 2450 ",
    "274 Harbour Drive, Coffs Harbour, New South Wales 2450",
])
def test_au_verification_matches_the_seed_example_however_written(http, token, q):
    response = get(http, VERIFY_AU, token, q=q)
    assert response.status_code == 200
    assert response.json() == {"matched": True, "address": seed_record(), "success": True}


def test_au_verification_returns_the_address_fields(http, token):
    address = get(http, VERIFY_AU, token, q=SEED_ADDRESS).json()["address"]
    assert address == {"id": address["id"], "full_address": SEED_ADDRESS, "street_number": "274",
                       "street_name": "Harbour", "street_type": "Drive",
                       "locality_name": "COFFS HARBOUR", "state_territory": "NSW",
                       "postcode": "2450"}


def test_au_verification_street_abbreviations(http, token):
    record = next(a for a in sample("au") if a["street_type"] == "Street")
    q = record["full_address"].replace(" Street,", " St")
    assert get(http, VERIFY_AU, token, q=q).json()["address"] == record


@pytest.mark.parametrize("q", [
    "275 Harbour Drive, COFFS HARBOUR NSW 2450",
    "274 Harbour Drive, COFFS HARBOUR NSW 2451",
    "274 Harbour Road, COFFS HARBOUR NSW 2450",
    "274 Harbour Drive, COFFS HARBOUR",
    "274 Harb",
])
def test_au_verification_unmatched(http, token, q):
    response = get(http, VERIFY_AU, token, q=q)
    assert response.status_code == 200
    assert response.json() == {"matched": False, "success": True}


# -- phone verification ---------------------------------------------------------------------

# (number, country_code sent, country of the number, line type, national, international)
@pytest.mark.parametrize(("number", "sent", "country", "line_type", "national", "international"), [
    ("0491 570 006", "AU", "AU", "mobile", "0491 570 006", "+61 491 570 006"),
    ("0491570006", "au", "AU", "mobile", "0491 570 006", "+61 491 570 006"),
    ("+61 491 570 006", "AU", "AU", "mobile", "0491 570 006", "+61 491 570 006"),
    ("+61 (0)491-570-006", "NZ", "AU", "mobile", "0491 570 006", "+61 491 570 006"),
    ("(02) 5550 1234", "AU", "AU", "landline", "(02) 5550 1234", "+61 2 5550 1234"),
    ("08 5550 9876", "AU", "AU", "landline", "(08) 5550 9876", "+61 8 5550 9876"),
    ("1800 160 401", "AU", "AU", "toll_free", "1800 160 401", None),
    ("1300 975 707", "AU", "AU", "local_rate", "1300 975 707", None),
    ("13 14 50", "AU", "AU", "local_rate", "13 14 50", None),
    ("021 123 4567", "NZ", "NZ", "mobile", "021 123 4567", "+64 21 123 4567"),
    ("+64 21 123 4567", "AU", "NZ", "mobile", "021 123 4567", "+64 21 123 4567"),
    ("0011 64 9 123 4567", "AU", "NZ", "landline", "(09) 123 4567", "+64 9 123 4567"),
    ("(03) 555 0123", "NZ", "NZ", "landline", "(03) 555 0123", "+64 3 555 0123"),
    ("0800 123 456", "NZ", "NZ", "toll_free", "0800 123 456", None),
])
def test_phone_verified(http, token, number, sent, country, line_type, national,
                        international):
    response = get(http, PHONE, token, phone_number=number, country_code=sent)
    assert response.status_code == 200
    assert response.json() == {
        "is_verified": True, "country_code": country, "line_type": line_type,
        "national_format": national, "international_format": international,
        "not_verified_reason": None, "success": True}


@pytest.mark.parametrize(("number", "country"), [
    ("0123456", "AU"),        # the seed's example: too short for any AU plan
    ("0491 570 00", "AU"),
    ("0491 570 0066", "AU"),
    ("0591 570 006", "AU"),
    ("+1 202 555 0143", "AU"),
    ("491570006", "AU"),
    ("0491 570 006 ext 2", "AU"),
    ("+61 491 +570 006", "AU"),
    ("0491 570 006", "NZ"),
    ("05 123 4567", "NZ"),
])
def test_phone_not_verified(http, token, number, country):
    response = get(http, PHONE, token, phone_number=number, country_code=country)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["is_verified"] is False
    assert body["line_type"] is None and body["international_format"] is None
    assert body["not_verified_reason"]


def test_phone_seed_example(http, token):
    response = get(http, PHONE, token, phone_number="0123456", country_code="AU")
    assert response.json() == {
        "is_verified": False, "country_code": "AU", "line_type": None, "national_format": None,
        "international_format": None, "not_verified_reason": "Not a valid Australian phone number.",
        "success": True}


def test_phone_country_code_must_be_au_or_nz(http, token):
    response = get(http, PHONE, token, phone_number="0491 570 006", country_code="US")
    assert response.status_code == 400
    assert response.json() == {
        "completions": [], "message": "The country_code query parameter must be AU or NZ.",
        "error_code": "1002", "success": False}


# -- email verification ---------------------------------------------------------------------

@pytest.mark.parametrize(("email", "normalised"), [
    ("jane.citizen@bellbird-demo.com.au", "jane.citizen@bellbird-demo.com.au"),
    ("Kiri+orders@Tui-Mail.CO.NZ", "Kiri+orders@tui-mail.co.nz"),
])
def test_email_verified(http, token, email, normalised):
    response = get(http, EMAIL, token, email=email)
    assert response.status_code == 200
    assert response.json() == {"email": normalised, "is_verified": True,
                               "domain": normalised.split("@")[1], "not_verified_reason": None,
                               "success": True}


@pytest.mark.parametrize("email", [
    "not-an-email", "jane@", "@bellbird-demo.com", "jane@@bellbird-demo.com",
    "jane doe@bellbird-demo.com", "jane@localhost", "jane@bellbird-demo", "jane@[192.0.2.1]",
    "jane@example.com", "jane@mail.example.org", "jane@shop.test", "jane@bellbird..com",
    "j" * 250 + "@x.com",
])
def test_email_not_verified(http, token, email):
    response = get(http, EMAIL, token, email=email)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["is_verified"] is False
    assert body["not_verified_reason"]


# -- missing parameters ---------------------------------------------------------------------

@pytest.mark.parametrize(("path", "params", "missing"), [
    (AUTOCOMPLETE_AU, {}, "q"),
    (AUTOCOMPLETE_NZ, {"q": "   "}, "q"),
    (VERIFY_AU, {}, "q"),
    (PHONE, {"country_code": "AU"}, "phone_number"),
    (PHONE, {"phone_number": "0491 570 006"}, "country_code"),
    (EMAIL, {"email": ""}, "email"),
])
def test_missing_query_parameter(http, token, path, params, missing):
    response = get(http, path, token, **params)
    assert response.status_code == 400
    assert response.json() == {"completions": [],
                               "message": f"The {missing} query parameter is required.",
                               "error_code": "1001", "success": False}


# -- authentication and scopes, in the seed's error format ----------------------------------

ALL_PATHS = [(AUTOCOMPLETE_AU, {"q": "274 Harb"}), (AUTOCOMPLETE_NZ, {"q": "Kaiapoi"}),
             (VERIFY_AU, {"q": SEED_ADDRESS}),
             (PHONE, {"phone_number": "0123456", "country_code": "AU"}),
             (EMAIL, {"email": "jane@bellbird-demo.com"})]


@pytest.mark.parametrize(("path", "params"), ALL_PATHS)
def test_no_token_is_400_1024_in_the_seed_format(http, path, params):
    response = get(http, path, **params)
    assert response.status_code == 400
    assert response.json() == INVALID_TOKEN
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer a.b.c", "Bearer ",
                                    "Bearer two tokens", "Basic dXNlcjpwYXNz"])
def test_garbage_credentials_are_400_1024(http, header):
    response = http.get(AUTOCOMPLETE_AU, {"q": "274 Harb", "format": "json"},
                        headers={"Authorization": header})
    assert response.status_code == 400
    assert response.json() == INVALID_TOKEN


def test_tampered_token_is_400_1024(http, token):
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 3600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{forged}.{signature}"
    response = get(http, AUTOCOMPLETE_AU, tampered, q="274 Harb")
    assert response.status_code == 400
    assert response.json() == INVALID_TOKEN


def test_expired_token_is_400_1024_after_the_leeway(http):
    with clock.frozen(T0) as frozen:
        token = mint_token(scopes=["address"])  # 900 s, verified with 30 s of leeway
        frozen.advance(900 + 30 - 1)
        assert get(http, AUTOCOMPLETE_AU, token, q="274 Harb").status_code == 200
        frozen.advance(1)
        response = get(http, AUTOCOMPLETE_AU, token, q="274 Harb")
    assert response.status_code == 400
    assert response.json() == INVALID_TOKEN


def test_token_of_a_deleted_client_is_400_1025(http, scopes):
    client, _ = Client.objects.create_client("doomed", scopes=["address"])
    token = mint_token(client, ["address"])
    assert get(http, AUTOCOMPLETE_AU, token, q="274 Harb").status_code == 200
    client.delete()
    response = get(http, AUTOCOMPLETE_AU, token, q="274 Harb")
    assert response.status_code == 400
    assert response.json() == PROJECT_NOT_FOUND


def test_token_of_a_deleted_project_is_400_1025(http, scopes):
    client, _ = Client.objects.create_client("doomed", scopes=["address"])
    token = mint_token(client, ["address"])
    client.project.delete()
    response = get(http, AUTOCOMPLETE_AU, token, q="274 Harb")
    assert response.status_code == 400
    assert response.json() == PROJECT_NOT_FOUND


def test_token_of_a_disabled_client_is_400_1024(http, scopes):
    client, _ = Client.objects.create_client("paused", scopes=["address"])
    token = mint_token(client, ["address"])
    assert get(http, AUTOCOMPLETE_AU, token, q="274 Harb").status_code == 200
    client.is_active = False
    client.save()
    response = get(http, AUTOCOMPLETE_AU, token, q="274 Harb")
    assert response.status_code == 400
    assert response.json() == INVALID_TOKEN


@pytest.mark.parametrize(("path", "params", "granted"), [
    (AUTOCOMPLETE_AU, {"q": "274 Harb"}, ["phone"]),
    (AUTOCOMPLETE_NZ, {"q": "Kaiapoi"}, ["phone", "email"]),
    (VERIFY_AU, {"q": SEED_ADDRESS}, ["email"]),
    (PHONE, {"phone_number": "0123456", "country_code": "AU"}, ["address", "email"]),
    (EMAIL, {"email": "jane@bellbird-demo.com"}, ["address", "phone"]),
])
def test_missing_scope_is_403_in_the_seed_format(http, path, params, granted):
    token = mint_token(scopes=granted)
    response = get(http, path, token, **params)
    assert response.status_code == 403
    assert response.json() == MISSING_SCOPE


@pytest.mark.parametrize(("path", "params"), ALL_PATHS)
def test_each_scope_opens_its_own_endpoints(http, path, params):
    scope = "phone" if path == PHONE else "email" if path == EMAIL else "address"
    response = get(http, path, mint_token(scopes=[scope]), **params)
    assert response.status_code == 200
    assert response.json()["success"] is True


def test_a_warm_request_makes_no_query(http, token, django_assert_num_queries):
    assert get(http, AUTOCOMPLETE_AU, token, q="274 Harb").status_code == 200
    with django_assert_num_queries(0):
        assert get(http, VERIFY_AU, token, q=SEED_ADDRESS).json()["matched"] is True


# -- the sample data ------------------------------------------------------------------------

def test_sample_data_generator_is_deterministic_and_matches_the_committed_file():
    first, second = make_sample_data.generate(), make_sample_data.generate()
    assert first == second
    text = make_sample_data.render(first)
    assert text == make_sample_data.render(second)
    assert text == make_sample_data.DATA_PATH.read_text(encoding="utf-8")
    assert make_sample_data.main(["--check"]) == 0


def test_sample_data_shape():
    data = make_sample_data.generate()
    assert len(data["au"]) == make_sample_data.AU_COUNT == 300
    assert len(data["nz"]) == make_sample_data.NZ_COUNT == 200
    for country in ("au", "nz"):
        ids = [a["id"] for a in data[country]]
        full = [a["full_address"] for a in data[country]]
        assert len(set(ids)) == len(ids) and len(set(full)) == len(full)
        assert all(i.startswith(f"{country}-") for i in ids)
    assert SEED_ADDRESS in {a["full_address"] for a in data["au"]}
    assert all(a["postcode"].isdigit() and len(a["postcode"]) == 4
               for a in data["au"] + data["nz"])
    assert {a["state_territory"] for a in data["au"]} <= {
        "NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"}
    assert make_sample_data.generate(seed=1) != data
