"""The stateless ``request.user`` of a request authenticated by an access token."""

from __future__ import annotations

from typing import Any

from oauth_cc.verification import VerifiedToken


class ClientPrincipal:
    """The OAuth client a token was issued to. Not a Django user row; it has no permissions.

    Its ``pk`` is the client id, so per-user throttles and logs keep working.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: VerifiedToken) -> None:
        self.client_id = token.client_id
        self.project_id = token.project_id
        self.scopes = token.scopes

    @property
    def pk(self) -> str:
        return self.client_id

    id = pk

    def get_username(self) -> str:
        return self.client_id

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientPrincipal) and other.client_id == self.client_id

    def __hash__(self) -> int:
        return hash(("ClientPrincipal", self.client_id))

    def __str__(self) -> str:
        return f"client {self.client_id}"

    def __repr__(self) -> str:
        return f"<ClientPrincipal {self.client_id}>"
