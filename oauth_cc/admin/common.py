"""What the admin pages of oauth_cc share: lookups they refuse, log messages, enabling and
disabling, the scope checkboxes, and naming the acting user in audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from oauth_cc import audit
from oauth_cc.models import Client, Scope
from oauth_cc.scopes import CLIENT_PERMISSIONS

_ModelT = TypeVar("_ModelT", bound=Model)

if TYPE_CHECKING:  # the form field and admin classes are generic in django-stubs only
    ScopeChoiceFieldBase = forms.ModelMultipleChoiceField[Scope]

    class ModelAdminBase(admin.ModelAdmin[_ModelT]):
        pass
else:
    ScopeChoiceFieldBase = forms.ModelMultipleChoiceField

    class ModelAdminBase(Generic[_ModelT], admin.ModelAdmin):
        pass


def lookup_reveals(lookup: str, hidden_fields: tuple[str, ...]) -> bool:
    """True for a changelist query-string lookup on a field the admin never shows.

    Django allows any lookup on a model's own fields, so a user who may only view could
    otherwise learn a hash or a ciphertext a prefix at a time (``?secret_hash__startswith=``).
    """
    return lookup.split("__", 1)[0] in hidden_fields


def change_message(*field_names: str) -> list[dict[str, Any]]:
    """An admin log message in Django's JSON form: "Changed <fields>."."""
    return [{"changed": {"fields": list(field_names)}}]


def set_active_each(model_admin: admin.ModelAdmin[Any], request: HttpRequest,
                    queryset: QuerySet[Any], active: bool) -> int:
    """Enable or disable each object with its own ``set_active()`` (the one way the portal
    and the admin do it); return how many changed, each logged in the admin log."""
    changed = 0
    for obj in queryset.filter(is_active=not active):
        if obj.set_active(active):
            model_admin.log_change(request, obj, change_message(
                str(obj._meta.get_field("is_active").verbose_name)))
            changed += 1
    return changed


class ScopeChoiceField(ScopeChoiceFieldBase):
    """The scope checkboxes; a permission of the client (``introspection``) is labelled as one,
    since it is never granted in a token."""

    def label_from_instance(self, obj: Any) -> str:
        if obj.name in CLIENT_PERMISSIONS:
            return gettext("%(name)s (a permission of the client: it may introspect other "
                           "clients' tokens; never granted in a token)") % {"name": obj.name}
        return str(obj.name)


def scope_list(client: Client) -> str:
    return ", ".join(scope.name for scope in client.scopes.all())


class ActingAdmin(ModelAdminBase[_ModelT]):
    """Audit events caused by a request to these admin pages name its user (``actor``)."""

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any
                        ) -> HttpResponse:
        with audit.acting(request.user):
            return super().changeform_view(request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any
                        ) -> HttpResponse:
        with audit.acting(request.user):  # actions and list_editable change objects here
            return super().changelist_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with audit.acting(request.user):
            return super().delete_view(request, *args, **kwargs)
