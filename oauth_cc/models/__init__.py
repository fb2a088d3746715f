"""The models of oauth_cc, one module per concern; import them from here."""

from oauth_cc.models.client_records import ClientRecord
from oauth_cc.models.clients import (
    Client,
    ClientManager,
    Project,
    Scope,
    UnknownScopes,
    scopes_named,
    validate_scope_name,
)
from oauth_cc.models.revocations import RevokedToken, RevokedTokenManager
from oauth_cc.models.signing_keys import (
    SigningKey,
    SigningKeyManager,
    SigningKeyState,
    retired_key_lifetime,
)

__all__ = [
    "Client",
    "ClientManager",
    "ClientRecord",
    "Project",
    "RevokedToken",
    "RevokedTokenManager",
    "Scope",
    "SigningKey",
    "SigningKeyManager",
    "SigningKeyState",
    "UnknownScopes",
    "retired_key_lifetime",
    "scopes_named",
    "validate_scope_name",
]
