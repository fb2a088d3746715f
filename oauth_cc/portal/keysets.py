"""Registering a ``private_key_jwt`` client's public keys in a form: a pasted JWK Set or the URL
of one (CONTRACT.md §11). The portal's pages and the admin both use these fields; the portal's
JSON API the same checks (``read_jwk_set``).

What a key set may be is ``oauth_cc.client_jwks``'s to say (``validate_jwk_set``,
``validate_jwks_uri``); their messages are shown on the field. What is added here: a private
key pasted by mistake (a PEM, or a JWK with private members) is refused with a message that
says so, and is never echoed back into the re-rendered form.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from oauth_cc import client_jwks
from oauth_cc.keys import PRIVATE_JWK_MEMBERS
from oauth_cc.models import Client

PRIVATE_KEY_PASTED = _(
    "This is a private key: never paste it anywhere. Keep it with the client, and register "
    "only its public half, as a JWK Set. If it has been shared, make a new key.")
BOTH_GIVEN = _("Give either a JWK Set or a JWK Set URL, not both.")
NONE_GIVEN = _("Paste the client's public JWK Set, or give the URL it is published at.")

#: What a form posts for each way a client authenticates.
PRIVATE_KEY_JWT = Client.AuthMethod.PRIVATE_KEY_JWT.value
CLIENT_SECRET = Client.AuthMethod.CLIENT_SECRET.value


def pasted_private_key(value: object) -> bool:
    """Whether ``value`` (a JWK Set as text or parsed) holds private key material: a PEM
    private key, or a JWK with a private or symmetric member (``d``, ``p``, ``k``, ...)."""
    if isinstance(value, str):
        if "PRIVATE KEY" in value:
            return True
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return False
    if not isinstance(value, dict):
        return False
    entries = value.get("keys")
    entries = entries if isinstance(entries, list) else [value]
    return any(isinstance(entry, dict) and PRIVATE_JWK_MEMBERS & entry.keys()
               for entry in entries)


def read_jwk_set(value: object) -> dict[str, Any]:
    """The JWK Set ``value`` (JSON text or a parsed object) as ``validate_jwk_set`` normalises
    it. Raises ``ValidationError``: code ``private_key`` for private key material, else
    ``invalid`` with ``client_jwks``'s message."""
    if pasted_private_key(value):
        raise ValidationError(PRIVATE_KEY_PASTED, code="private_key")
    if not isinstance(value, str | dict):
        raise ValidationError(_('A JWK Set is a JSON object with a "keys" list.'),
                              code="invalid")
    return client_jwks.validate_jwk_set(value)


def key_ids(client: Client) -> list[str] | None:
    """The ids of the keys registered inline for ``client`` (a ``kid``, or the RFC 7638
    thumbprint of a key without one); None when it has no inline JWK Set."""
    if client.auth_method != PRIVATE_KEY_JWT or not client.jwks:
        return None
    try:
        return client_jwks.key_ids(client.jwks)
    except ValidationError:  # saved around validation: shown as having none
        return []


class JWKSetField(forms.CharField):
    """A pasted JWK Set; cleans to its normalised ``dict`` (None when empty).

    A bound form never shows a pasted private key again: it renders an empty field."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 60, "spellcheck": "false",
                                   "autocomplete": "off", "class": "vLargeTextField mono"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Public JWK Set"))
        kwargs.setdefault("help_text", _(
            'The client\'s public keys as a JWK Set, {"keys": [...]}: up to ten RSA (2048 '
            "bits or more), EC P-256 or Ed25519 keys. Never a private key."))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return json.dumps(value, indent=2) if isinstance(value, dict) else value

    def bound_data(self, data: Any, initial: Any) -> Any:
        if pasted_private_key(data):
            return ""  # not echoed back into the page
        return super().bound_data(data, initial)

    def clean(self, value: Any) -> dict[str, Any] | None:
        text = super().clean(value)
        if not text:
            return None
        return read_jwk_set(text)

    def has_changed(self, initial: Any, data: Any) -> bool:
        # The initial value is the stored set, a dict; the data is text, however spaced.
        try:
            return self.clean(data) != (initial or None)
        except ValidationError:
            return True


class JWKSURIField(forms.CharField):
    """The https URL where the client publishes its JWK Set; cleans to it ("" when empty)."""

    widget = forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                   "class": "vURLField"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("JWK Set URL (jwks_uri)"))
        kwargs.setdefault("max_length", client_jwks.MAX_URI_LENGTH)
        kwargs.setdefault("help_text", _(
            "Instead of a pasted JWK Set: where the client publishes its public keys (https). "
            "They are fetched when needed, and fetched again for a key id not seen before."))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text: str = super().clean(value)
        return client_jwks.validate_jwks_uri(text) if text else ""


class KeysForm(forms.Form):
    """The key fields of a ``private_key_jwt`` client: exactly one of ``jwks`` and
    ``jwks_uri``. Mixed into the forms that register keys."""

    jwks = JWKSetField()
    jwks_uri = JWKSURIField()

    def keys_required(self) -> bool:
        """Whether this submission registers keys (the form is for private_key_jwt)."""
        return True

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not self.keys_required():
            cleaned["jwks"], cleaned["jwks_uri"] = None, ""
        elif "jwks" not in self.errors and "jwks_uri" not in self.errors:
            if cleaned.get("jwks") and cleaned.get("jwks_uri"):
                self.add_error("jwks_uri", BOTH_GIVEN)
            elif not cleaned.get("jwks") and not cleaned.get("jwks_uri"):
                self.add_error("jwks", NONE_GIVEN)
        return cleaned


class AuthenticationForm(KeysForm):
    """``auth_method`` (client secret or private_key_jwt) and, for the latter, the keys."""

    # Not required: a form posted without it (as before private_key_jwt) makes a secret.
    auth_method = forms.ChoiceField(
        label=_("Client authentication"), choices=Client.AuthMethod.choices, required=False,
        initial=CLIENT_SECRET, widget=forms.RadioSelect,
        help_text=_("A client secret (shown once), or private_key_jwt (RFC 7523): the client "
                    "signs a short-lived JWT with its private key, and only the public key is "
                    "registered here."))

    def clean_auth_method(self) -> str:
        return str(self.cleaned_data.get("auth_method") or CLIENT_SECRET)

    def keys_required(self) -> bool:
        return self.cleaned_data.get("auth_method") == PRIVATE_KEY_JWT
