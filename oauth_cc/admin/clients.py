"""The admin of clients, whose secrets are shown once.

A client secret exists in plain text only in the response to the request that made it: saving
the add form, the "Regenerate secret" button, or switching a ``private_key_jwt`` client back
to a secret renders a page that shows it once, with ``Cache-Control: no-store``. It never
passes through a redirect, the messages framework (whose cookie or session storage would keep
it), the session or the admin log.

A client may instead authenticate with ``private_key_jwt`` (RFC 7523, CONTRACT.md §11): staff
choose it on the add or change form and paste the client's public JWK Set, or give its URL;
the change page lists the registered key ids. Such a client has no secret, so no page shows
one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from oauth_cc import audit, clock
from oauth_cc.admin.common import (
    ActingAdmin,
    ScopeChoiceField,
    change_message,
    lookup_reveals,
    scope_list,
    set_active_each,
)
from oauth_cc.models import Client
from oauth_cc.portal.keysets import PRIVATE_KEY_JWT, AuthenticationForm, key_ids
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.shown_once import ShownOnce

__all__ = ["ClientAdmin", "ClientChangeForm", "ClientCreationForm", "ShownOnce"]

SHOWN_ONCE_TEMPLATE = "oauth_cc/admin/client_secret.html"
# Where save_model() leaves the new secret for response_add(): on this request object only.
_SHOWN_ONCE_ATTR = "_oauth_cc_shown_once"
# The fields whose change is audited as client_updated (is_active has its own events).
AUDITED_FIELDS = ("name", "project", "scopes", "require_dpop", "tokens_per_hour")
# The model fields the forms set only through Client.use_private_key_jwt/use_client_secret,
# never by assignment: the forms' fields of these names are their own.
AUTHENTICATION_FIELDS = ("auth_method", "jwks", "jwks_uri")

sensitive_post_parameters_m = method_decorator(sensitive_post_parameters())

if TYPE_CHECKING:  # the form classes are generic in django-stubs only
    ClientFormBase = forms.ModelForm[Client]
else:
    ClientFormBase = forms.ModelForm


def _previous_valid_until(client: Client) -> datetime | None:
    """When the secret before the last regeneration stops working, if it still works."""
    expires = client.previous_secret_expires_at
    return expires if expires is not None and expires > clock.now_datetime() else None


class ClientCreationForm(AuthenticationForm, ClientFormBase):
    """The add form. The client id (and the secret, for a client_secret client) are generated;
    an empty project makes one."""

    class Meta:
        model = Client
        fields = ("name", "project", "scopes", "is_active", "require_dpop",
                  "tokens_per_hour")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        project = self.fields["project"]
        project.required = False
        project.help_text = _("Leave empty to create a new project with the client's name.")
        if isinstance(project, forms.ModelChoiceField):
            project.empty_label = gettext("(new project)")


class ClientChangeForm(AuthenticationForm, ClientFormBase):
    """The change form: the client's fields, and how it authenticates (applied in
    ``ClientAdmin.save_model`` through the model's methods)."""

    class Meta:
        model = Client
        exclude = AUTHENTICATION_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        client = self.instance
        if client.pk is not None:
            self.initial.update(auth_method=client.auth_method, jwks=client.jwks,
                                jwks_uri=client.jwks_uri)


@admin.register(Client)
class ClientAdmin(ActingAdmin[Client]):
    """Clients. Adding one or regenerating its secret shows the secret once, then never."""

    add_form = ClientCreationForm
    form = ClientChangeForm
    change_form_template = "oauth_cc/admin/client_change_form.html"
    list_display = ("name", "client_id", "project", "scope_list", "auth_method", "require_dpop",
                    "is_active", "created_at", "last_used_at")
    list_filter = ("is_active", "auth_method", "require_dpop", "project", "scopes")
    list_select_related = ("project",)
    search_fields = ("name", "client_id", "project__name")
    readonly_fields = ("client_id", "created_at", "secret_updated_at", "previous_secret",
                       "last_used_at", "key_ids")
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    actions = ("disable_clients", "enable_clients")
    add_fieldsets = (
        (None, {
            "fields": ("name", "project", "scopes", "is_active", "require_dpop",
                       "tokens_per_hour"),
            "description": _("The client id is generated when you save. A client secret is "
                             "generated too, and shown once on the next page; a "
                             "private_key_jwt client has none."),
        }),
        (_("Client authentication"), {"fields": AUTHENTICATION_FIELDS}),
    )
    #: Never shown (not as fields, not read only), and refused as changelist lookups.
    hidden_fields = ("secret_hash", "previous_secret_hash")
    fieldsets = (
        # require_dpop: saved by the admin's save(), whose post_save drops cached records.
        (None, {"fields": ("name", "project", "scopes", "is_active", "require_dpop",
                           "tokens_per_hour")}),
        (_("Client authentication"), {
            "fields": (*AUTHENTICATION_FIELDS, "key_ids"),
            "description": _("Switching to private_key_jwt removes the client's secret: the "
                             "client then signs its requests with its private key. Switching "
                             "back to a client secret issues a new one, shown once."),
        }),
        (_("Credentials"), {
            "fields": ("client_id", "secret_updated_at", "previous_secret", "created_at",
                       "last_used_at"),
            "description": _("The secret is stored only as a hash and cannot be shown. "
                             "“Regenerate secret” (top right) issues a new one and shows it "
                             "once."),
        }),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Client]:
        return super().get_queryset(request).prefetch_related("scopes")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> forms.ModelMultipleChoiceField[Any] | None:
        if db_field.name == "scopes":
            kwargs["form_class"] = ScopeChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        return (not lookup_reveals(lookup, self.hidden_fields)
                and super().lookup_allowed(lookup, value, request))

    def get_fieldsets(self, request: HttpRequest, obj: Client | None = None) -> Any:
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Client | None = None
                            ) -> tuple[str, ...]:
        return () if obj is None else tuple(super().get_readonly_fields(request, obj))

    def get_exclude(self, request: HttpRequest, obj: Client | None = None) -> tuple[str, ...]:
        # The model fields of these names are never assigned from the form: see save_model.
        return (*(super().get_exclude(request, obj) or ()), *AUTHENTICATION_FIELDS)

    def get_form(self, request: HttpRequest, obj: Client | None = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm[Client]]:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: Client) -> str:
        return scope_list(obj)

    @admin.display(description=_("registered key ids"))
    def key_ids(self, obj: Client) -> str:
        if obj.auth_method != PRIVATE_KEY_JWT:
            return gettext("— (the client authenticates with a secret)")
        if obj.jwks_uri:
            return gettext("Fetched from the JWK Set URL when needed: %s") % obj.jwks_uri
        return ", ".join(key_ids(obj) or ()) or "—"

    @admin.display(description=_("previous secret valid until"))
    def previous_secret(self, obj: Client) -> str:
        if obj.auth_method == PRIVATE_KEY_JWT:
            return gettext("— (no secret: the client authenticates with its private key)")
        until = _previous_valid_until(obj)
        if until is None:
            return gettext("— (only the current secret works)")
        if timezone.is_aware(until):
            until = timezone.localtime(until)
        return str(formats.localize(until))

    # Adding: the manager makes the id and secret, the response shows the secret.

    @sensitive_post_parameters_m
    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().add_view(request, form_url, extra_context)

    @sensitive_variables("secret")
    def save_model(self, request: HttpRequest, obj: Client, form: Any, change: Any) -> None:
        data = form.cleaned_data
        if change:
            super().save_model(request, obj, form, change)
            self.save_authentication(request, obj, data)
            return
        if data["auth_method"] == PRIVATE_KEY_JWT:
            # No secret, so no page to show one: the admin's usual redirect follows.
            obj.issue_secretless(data["scopes"], jwks=data["jwks"], jwks_uri=data["jwks_uri"])
            return
        # The form's client, saved with its generated id and secret (and a new project when
        # none was chosen); the admin goes on with it for the log entry and the response.
        secret = obj.issue_credentials(data["scopes"])
        setattr(request, _SHOWN_ONCE_ATTR, ShownOnce(secret))

    @sensitive_variables("secret")
    def save_authentication(self, request: HttpRequest, obj: Client,
                            data: dict[str, Any]) -> None:
        """Apply the change form's client authentication: register (other) keys, or go back
        to a secret, which the response then shows once."""
        if data["auth_method"] == PRIVATE_KEY_JWT:
            if (obj.auth_method != PRIVATE_KEY_JWT or data["jwks"] != obj.jwks
                    or data["jwks_uri"] != obj.jwks_uri):
                obj.use_private_key_jwt(jwks=data["jwks"], jwks_uri=data["jwks_uri"])
        elif obj.auth_method == PRIVATE_KEY_JWT:
            secret = obj.use_client_secret()
            setattr(request, _SHOWN_ONCE_ATTR, ShownOnce(secret))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: Any
                     ) -> None:
        super().save_related(request, form, formsets, change)
        if change:  # staff's edits are audited like the portal's (Client.update)
            form.instance.audit_update([f for f in AUDITED_FIELDS if f in form.changed_data])

    def response_add(self, request: HttpRequest, obj: Client,
                     post_url_continue: str | None = None) -> HttpResponse:
        secret = getattr(request, _SHOWN_ONCE_ATTR, None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self.secret_response(request, obj, secret, regenerated=False)

    def response_change(self, request: HttpRequest, obj: Client) -> HttpResponse:
        secret = getattr(request, _SHOWN_ONCE_ATTR, None)
        if secret is None:
            return super().response_change(request, obj)
        return self.secret_response(request, obj, secret, regenerated=True, switched=True)

    # Regenerating: POST only, change permission, CSRF (admin_view), shown once likewise.

    @sensitive_post_parameters_m  # a private key pasted by mistake stays out of error reports
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        grace = oauth_cc_settings.SECRET_ROTATION_GRACE_SECONDS
        if grace > 0:
            confirm = ngettext(
                "Issue a new secret? The current one keeps working for %d more second only.",
                "Issue a new secret? The current one keeps working for %d more seconds only.",
                grace) % grace
        else:
            confirm = gettext("Issue a new secret? The current one stops working at once.")
        extra_context = {**(extra_context or {}), "regenerate_confirm": confirm}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_regenerate_secret"
        return [
            path("<path:object_id>/regenerate-secret/",
                 self.admin_site.admin_view(self.regenerate_secret_view), name=name),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    @sensitive_post_parameters_m
    @sensitive_variables("secret")
    def regenerate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Give the client a new secret and show it once. The old one stays valid for
        ``SECRET_ROTATION_GRACE_SECONDS`` (default 0: it stops working at once). A
        ``private_key_jwt`` client goes back to a secret (its keys stop working), as the
        portal's regenerate does.

        Raises ``Http404`` for an unknown client, ``PermissionDenied`` without the change
        permission; a method other than POST gets 405.
        """
        client = self.get_object(request, unquote(object_id))
        if client is None:
            raise Http404(gettext("No client with this id."))
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        switched = client.auth_method == PRIVATE_KEY_JWT
        with transaction.atomic(), audit.acting(request.user):
            secret = ShownOnce(client.use_client_secret() if switched
                               else client.regenerate_secret())
            self.log_change(request, client, change_message(gettext("client secret")))
        return self.secret_response(request, client, secret, regenerated=True,
                                    switched=switched)

    @sensitive_variables("secret")
    def secret_response(self, request: HttpRequest, client: Client, secret: ShownOnce, *,
                        regenerated: bool, switched: bool = False) -> HttpResponse:
        """The page that shows ``client``'s id and plain ``secret``, never cached.
        ``switched``: the client authenticated with keys until now."""
        info = self.opts.app_label, self.opts.model_name
        site = self.admin_site.name
        title = (gettext("New secret for “%s”") if regenerated
                 else gettext("Client “%s” created")) % client.name
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "client": client,
            "secret": secret,
            "scopes": scope_list(client),
            "regenerated": regenerated,
            "switched": switched,
            "previous_valid_until": (_previous_valid_until(client)
                                     if regenerated and not switched else None),
            "change_url": reverse("admin:{}_{}_change".format(*info), args=[client.pk],
                                  current_app=site),
            "changelist_url": reverse("admin:{}_{}_changelist".format(*info), current_app=site),
            "add_url": (reverse("admin:{}_{}_add".format(*info), current_app=site)
                        if self.has_add_permission(request) else None),
        }
        request.current_app = site
        response = TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)
        add_never_cache_headers(response)  # Cache-Control: no-store, no-cache, private, ...
        return response

    # Actions.

    @admin.action(description=_("Disable selected clients"), permissions=["change"])
    def disable_clients(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        count = set_active_each(self, request, queryset, active=False)
        self.message_user(request, ngettext(
            "Disabled %d client: it gets no tokens and its tokens are refused.",
            "Disabled %d clients: they get no tokens and their tokens are refused.",
            count) % count, messages.SUCCESS)

    @admin.action(description=_("Enable selected clients"), permissions=["change"])
    def enable_clients(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        count = set_active_each(self, request, queryset, active=True)
        self.message_user(request, ngettext("Enabled %d client.", "Enabled %d clients.",
                                            count) % count, messages.SUCCESS)
