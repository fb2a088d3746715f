"""The Django admin of oauth_cc: clients (``clients``), projects and scopes (``projects``),
signing keys (``keys``). Importing this package registers them with the default admin site."""

from oauth_cc.admin.clients import ClientAdmin
from oauth_cc.admin.keys import SigningKeyAdmin
from oauth_cc.admin.projects import ProjectAdmin, ScopeAdmin

__all__ = ["ClientAdmin", "ProjectAdmin", "ScopeAdmin", "SigningKeyAdmin"]
