"""Reading an OAuth request (form body, Basic header) and authenticating the client.

RFC 6749 §2.3.1: a confidential client authenticates with HTTP Basic (``client_secret_basic``)
or with ``client_id`` + ``client_secret`` in the body (``client_secret_post``), never both, and
never in the URL query. Basic values are form-urlencoded before base64 and are decoded here.
A client without a secret sends a signed ``client_assertion`` instead (``private_key_jwt``,
RFC 7523 §2.2; ``client_assertion`` checks it). Whatever the method, a failure is
``invalid_client``, audited, and counted toward the brute-force limits (``throttle``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from django.conf import settings as django_settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from oauth_cc import audit, clock, credentials, state, throttle
from oauth_cc import client_assertion as assertions
from oauth_cc.exceptions import InvalidClient, InvalidRequest
from oauth_cc.models import Client, ClientRecord

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
CREDENTIAL_PARAMETERS = ("client_id", "client_secret", "client_assertion",
                         "client_assertion_type")
PRIVATE_KEY_JWT = "private_key_jwt"
_BASIC = re.compile(r"basic[ \t]+(\S*)[ \t]*", re.IGNORECASE)
MAX_FIELDS = 32
MAX_CLIENT_ID_LENGTH = Client._meta.get_field("client_id").max_length or 64


@dataclass(frozen=True)
class ClientCredentials:
    """Who the request says it is, and its proof. For ``private_key_jwt``, ``client_id`` is
    the ``client_id`` parameter ("" if not sent), ``secret`` is "" and ``assertion`` holds
    the ``client_assertion``."""

    client_id: str
    secret: str
    method: str  # "client_secret_basic", "client_secret_post" or "private_key_jwt"
    assertion: str = ""

    @property
    def basic(self) -> bool:
        return self.method == "client_secret_basic"

    def __repr__(self) -> str:
        return f"<ClientCredentials {self.client_id} {self.method}>"


@sensitive_variables()  # the body holds the client secret, and a token to introspect
def read_form(request: HttpRequest, max_bytes: int) -> dict[str, str]:
    """The body's parameters, each at most once; empty values count as absent (RFC 6749 §3.1).

    Raises ``InvalidRequest`` for a body that is not form-encoded UTF-8, too large, or that
    repeats a parameter (RFC 6749 §3.2).
    """
    declared = request.META.get("CONTENT_LENGTH")
    if not declared and request.META.get("HTTP_TRANSFER_ENCODING"):
        # WSGI gives no way to read a body of unknown length (PEP 3333): without this it
        # would look empty and the client would be told "grant_type is missing".
        raise InvalidRequest("The request body must be sent with a Content-Length header; "
                             "chunked transfer encoding is not supported.")
    try:
        length = int(declared or 0)
    except ValueError as e:
        raise InvalidRequest("The Content-Length header is not a number.") from e
    if length < 0:  # Django would read no body: "no credentials", a misleading answer
        raise InvalidRequest("The Content-Length header is not a number of bytes.")
    if length > max_bytes:
        raise InvalidRequest(f"The request body is larger than {max_bytes} bytes.")
    body = request.body if length else b""
    if not body:
        return {}
    if request.content_type != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"The request body must be {FORM_CONTENT_TYPE}.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError as e:
        raise InvalidRequest("The request body is not valid UTF-8 form data.") from e
    except ValueError as e:
        raise InvalidRequest(f"The request body has more than {MAX_FIELDS} parameters.") from e
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidRequest(f"The parameter {name[:40]!r} is repeated.")
        params[name] = value
    return {name: value for name, value in params.items() if value}


def has_basic_header(request: HttpRequest) -> bool:
    header: str = request.META.get("HTTP_AUTHORIZATION", "")
    return header[:6].lower() == "basic " or header.lower() == "basic"


@sensitive_variables("decoded", "secret")
def parse_basic(request: HttpRequest) -> tuple[str, str]:
    """The ``(client_id, secret)`` of a Basic Authorization header. Raises ``InvalidClient``."""
    match = _BASIC.fullmatch(request.META.get("HTTP_AUTHORIZATION", ""))
    error = InvalidClient("The Basic Authorization header is malformed.", basic=True)
    if match is None:
        raise error
    try:
        decoded = base64.b64decode(match.group(1), validate=True).decode("utf-8")
        client_id, secret = decoded.split(":", 1)
        return (unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise error from e


def query_has_credentials(request: HttpRequest) -> bool:
    """Whether the URL query names a credential. Raises ``InvalidRequest`` for a query that
    Django refuses to parse (more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` parameters)."""
    if not request.META.get("QUERY_STRING"):
        return False  # no query to parse (request.GET would build an empty QueryDict)
    try:
        query = request.GET
    except TooManyFieldsSent as e:
        raise InvalidRequest("The URL query has more parameters than this server reads "
                             f"({django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}).") from e
    return any(name in query for name in CREDENTIAL_PARAMETERS)


@sensitive_variables("secret", "params")
def client_credentials(request: HttpRequest, params: dict[str, str]) -> ClientCredentials:
    """Which client the request claims to be, by which method.

    Raises ``InvalidRequest`` for credentials in the query or two methods at once, and
    ``InvalidClient`` when there are none, the Basic header is malformed, or a client
    assertion comes without its type, of another type, or the type without it. A
    ``client_id`` in the body beside Basic is tolerated when it names the same client (some
    libraries send it).
    """
    if query_has_credentials(request):
        raise InvalidRequest("Client credentials must not be sent in the URL query.")
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if "client_assertion" in params or "client_assertion_type" in params:
        return _assertion_credentials(request, params)
    if has_basic_header(request):
        if body_secret is not None:
            raise InvalidRequest("Use one client authentication method: HTTP Basic or "
                                 "client_secret in the body, not both.")
        client_id, secret = parse_basic(request)
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("The client_id in the body differs from the one in the "
                                 "Authorization header.")
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if body_id is None:
        raise InvalidClient("No client credentials: use HTTP Basic or client_id and "
                            "client_secret in the body.")
    if body_secret is None:
        raise InvalidClient("The client_secret parameter is missing.")
    return ClientCredentials(body_id, body_secret, "client_secret_post")


@sensitive_variables("params")
def _assertion_credentials(request: HttpRequest, params: dict[str, str]) -> ClientCredentials:
    """``private_key_jwt`` credentials (RFC 7523 §2.2), or why the request has none."""
    if has_basic_header(request) or "client_secret" in params:
        # RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request".
        # RFC 7521 §4.2.1 would answer invalid_client; this is the same request-shape error
        # that Basic and client_secret together get (the contract's invalid_request).
        raise InvalidRequest("Use one client authentication method: a client_assertion or a "
                             "client secret (HTTP Basic or client_secret), not both.")
    # A missing or unknown client_assertion_type, or a type without an assertion, is no
    # client authentication this server supports: invalid_client (RFC 6749 §5.2 "no client
    # authentication included, or unsupported authentication method"; RFC 7521 §4.2.1).
    # Like a missing secret it checks no credential, so it is not counted as a failure.
    assertion_type = params.get("client_assertion_type")
    if assertion_type is None:
        raise InvalidClient("The client_assertion_type parameter is missing: it must be "
                            f"{assertions.ASSERTION_TYPE}.")
    if assertion_type != assertions.ASSERTION_TYPE:
        raise InvalidClient("Unsupported client_assertion_type: the only one supported is "
                            f"{assertions.ASSERTION_TYPE} (private_key_jwt).")
    assertion = params.get("client_assertion")
    if assertion is None:
        raise InvalidClient("The client_assertion parameter is missing.")
    return ClientCredentials(params.get("client_id", ""), "", PRIVATE_KEY_JWT, assertion)


def could_be_client_id(value: str) -> bool:
    """False for what no client id can be, so it is not looked up: longer than the column, or
    holding NUL, which PostgreSQL refuses in any text parameter (a query error, not a miss)."""
    return len(value) <= MAX_CLIENT_ID_LENGTH and "\x00" not in value


@sensitive_variables("creds")
def authenticate_client(creds: ClientCredentials, address: str, *,
                        endpoint: str = "token") -> ClientRecord:
    """The client whose credentials these are. Raises ``InvalidClient`` otherwise, or
    ``TooManyAttempts`` (before the secret is checked) when this client id or ``address`` has
    failed too often (``throttle``).

    Unknown ids and wrong secrets get one answer and the same hashing work. An unknown id
    costs a lookup that a known id, cached per worker, does not: client ids are not secrets
    (RFC 6749 §2.2), ours are 144 random bits, and failures are throttled, so that difference
    tells an attacker nothing useful. Every failure is counted and goes to the audit trail.
    A ``private_key_jwt`` client's assertion is checked by ``client_assertion``, under the
    same rules; a secret for such a client, or an assertion for a secret client, fails.
    """
    if creds.method == PRIVATE_KEY_JWT:
        return _authenticate_assertion(creds, address, endpoint)
    with throttle.attempt(creds.client_id, address) as attempt:
        record = _record(creds.client_id)
        failure = None
        if record is None:
            credentials.burn_hash_time(creds.secret)
            failure = ("unknown_client", "Unknown client or wrong secret.")
        elif record.uses_private_key_jwt:
            failure = ("wrong_auth_method", "This client authenticates with private_key_jwt "
                                            "(a signed client_assertion), not with a secret.")
        else:
            matches, needs_rehash = record.check_secret(creds.secret)
            if not matches:
                failure = ("wrong_secret", "Unknown client or wrong secret.")
            elif not record.is_active:
                failure = ("client_disabled", "This client is disabled.")
            elif not record.project_is_active:
                failure = ("project_disabled", "OAuth2 client credentials are not enabled "
                                               "for this client's project.")
            elif needs_rehash:
                Client.objects.filter(pk=record.pk, secret_hash=record.secret_hash).update(
                    secret_hash=credentials.hash_secret(creds.secret))
                state.forget_client(record.client_id)
        attempt.failed = failure is not None
    if failure is not None:
        _failed(creds.client_id, address, endpoint, failure[0])
        raise InvalidClient(failure[1], basic=creds.basic)
    assert record is not None
    return record


def _record(client_id: str) -> ClientRecord | None:
    # Ids from requests are anyone's to make up: a miss is not remembered.
    return (state.clients.get(client_id, remember_missing=False)
            if could_be_client_id(client_id) else None)


def _failed(client_id: str, address: str, endpoint: str, reason: str) -> None:
    audit.emit(audit.client_authentication_failed, "client_authentication_failed",
               client_id=client_id[:64], remote_addr=address, reason=reason,
               endpoint=endpoint)


@sensitive_variables("creds", "parsed")
def _authenticate_assertion(creds: ClientCredentials, address: str,
                            endpoint: str) -> ClientRecord:
    """``authenticate_client`` for ``private_key_jwt``: the client the assertion names (or
    the ``client_id`` parameter, which must be the same), if the assertion proves it.

    Counted under that client id, or "" for an assertion too broken to name one, so that
    garbage counts toward the address's limit like any failure.
    """
    parsed: assertions.ParsedAssertion | None = None
    failure: assertions.AssertionRejected | None = None
    try:
        parsed = assertions.parse(creds.assertion)
    except assertions.AssertionRejected as e:
        failure = e
    client_id = creds.client_id or (parsed.client_id if parsed is not None else "")
    with throttle.attempt(client_id, address) as attempt:
        record = None
        if parsed is not None:
            try:
                record = _asserted_client(parsed, client_id, bool(creds.client_id))
            except assertions.AssertionRejected as e:
                failure = e
        attempt.failed = failure is not None
    if failure is not None:
        _failed(client_id, address, endpoint, failure.reason)
        raise InvalidClient(failure.description)
    assert record is not None
    return record


@sensitive_variables("parsed")
def _asserted_client(parsed: assertions.ParsedAssertion, client_id: str,
                     client_id_sent: bool) -> ClientRecord:
    """The client ``client_id``, once ``parsed`` proves it is the sender. Raises
    ``AssertionRejected``. The signature is checked before the client's state, as a secret
    is: only the key's holder learns that the client is disabled."""
    record = _record(client_id)
    if record is None:
        raise assertions.AssertionRejected("unknown_client", "Unknown client: no client has "
                                                             "the id the assertion names.")
    if not record.uses_private_key_jwt:
        raise assertions.AssertionRejected(
            "wrong_auth_method", "This client authenticates with a client secret, not with "
                                 "private_key_jwt.")
    now = clock.now()
    assertions.verify(parsed, record, now=now, client_id_sent=client_id_sent)
    if not record.is_active:
        raise assertions.AssertionRejected("client_disabled", "This client is disabled.")
    if not record.project_is_active:
        raise assertions.AssertionRejected(
            "project_disabled", "OAuth2 client credentials are not enabled for this client's "
                                "project.")
    assertions.use_once(record.client_id, parsed, now=now)
    return record
