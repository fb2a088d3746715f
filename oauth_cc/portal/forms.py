"""The portal's create form: a name and the scopes staff allow the project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from oauth_cc.models import Client, Project, Scope
from oauth_cc.portal.operations import allowed_scopes

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


class CreateClientForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=NAME_MAX_LENGTH,
        help_text=_("To tell your clients apart, e.g. “Production server”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    scopes = ScopeField(
        label=_("Scopes"), queryset=Scope.objects.none(),
        help_text=_("What the client may call. Choose at least one."),
        error_messages={"required": _("Choose at least one scope.")})

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(ScopeField, self.fields["scopes"]).queryset = allowed_scopes(project)
