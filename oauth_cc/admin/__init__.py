"""The Django admin of oauth_cc: clients, projects and scopes (``clients``), signing keys
(``keys``). Importing this package registers them with the default admin site."""

from oauth_cc.admin.clients import ClientAdmin, ProjectAdmin, ScopeAdmin
from oauth_cc.admin.keys import SigningKeyAdmin

__all__ = ["ClientAdmin", "ProjectAdmin", "ScopeAdmin", "SigningKeyAdmin"]
