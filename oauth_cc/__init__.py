"""django-oauth-cc: an OAuth2 client credentials authorization server for Django."""

__version__ = "0.1.0.dev0"
