"""The portal's forms: creating a client (a name, the scopes staff allow the project, and how it
authenticates), and registering a ``private_key_jwt`` client's public keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from oauth_cc.models import Client, Project, Scope
from oauth_cc.portal.keysets import PRIVATE_KEY_JWT, AuthenticationForm, KeysForm
from oauth_cc.portal.operations import Keys, allowed_scopes

if TYPE_CHECKING:  # the form field is generic in django-stubs only
    ScopeFieldBase = forms.ModelMultipleChoiceField[Scope]
else:
    ScopeFieldBase = forms.ModelMultipleChoiceField

NAME_MAX_LENGTH = Client._meta.get_field("name").max_length


class ScopeField(ScopeFieldBase):
    """Checkboxes labelled with the scope's name; the template adds its description."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


def keys_of(form: KeysForm) -> Keys:
    """The keys a valid ``KeysForm`` registers."""
    return Keys(jwks=form.cleaned_data["jwks"], jwks_uri=form.cleaned_data["jwks_uri"])


class CreateClientForm(AuthenticationForm):
    """A name, scopes, and a secret (the default) or the public keys of a private_key_jwt
    client."""

    name = forms.CharField(
        label=_("Name"), max_length=NAME_MAX_LENGTH,
        help_text=_("To tell your clients apart, e.g. “Production server”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    scopes = ScopeField(
        label=_("Scopes"), queryset=Scope.objects.none(),
        help_text=_("What the client may call. Choose at least one."),
        error_messages={"required": _("Choose at least one scope.")})
    require_dpop = forms.BooleanField(
        label=_("Require DPoP-bound tokens"), required=False,
        help_text=_("The client must prove with each request that it holds its own key "
                    "(DPoP, RFC 9449): a stolen token is useless without it."))

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(ScopeField, self.fields["scopes"]).queryset = allowed_scopes(project)

    def keys(self) -> Keys | None:
        """The keys to register, for a private_key_jwt client; None for a secret."""
        return keys_of(self) if self.cleaned_data["auth_method"] == PRIVATE_KEY_JWT else None


class ClientKeysForm(KeysForm):
    """The public keys that make a client ``private_key_jwt`` (or replace its keys)."""
