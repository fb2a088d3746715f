"""The admin of projects (with their members, allowed scopes and clients) and scopes.

Staff keep full power here: a project's ``scopes`` only bound what its members may choose in
the customer portal; the client admin may still give a client any scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from oauth_cc.admin.common import ActingAdmin, ScopeChoiceField, scope_list, set_active_each
from oauth_cc.models import Client, Project, Scope

if TYPE_CHECKING:  # the admin classes are generic in django-stubs only
    ClientInlineBase = admin.TabularInline[Client, Project]
    ScopeAdminBase = admin.ModelAdmin[Scope]
else:
    ClientInlineBase = admin.TabularInline
    ScopeAdminBase = admin.ModelAdmin


class ProjectClientInline(ClientInlineBase):
    """A project's clients: a summary, with ``is_active`` editable.

    No adding here: a new client's secret must be shown on its own page ("Add client" above).
    """

    model = Client
    fields = ("name", "client_id", "scope_list", "is_active", "created_at", "last_used_at")
    readonly_fields = ("name", "client_id", "scope_list", "created_at", "last_used_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Client]:
        return super().get_queryset(request).prefetch_related("scopes")

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: Client) -> str:
        return scope_list(obj)


@admin.register(Project)
class ProjectAdmin(ActingAdmin[Project]):
    change_form_template = "oauth_cc/admin/project_change_form.html"
    inlines = (ProjectClientInline,)
    fields = ("name", "is_active", "members", "scopes", "created_at")
    readonly_fields = ("created_at",)
    filter_horizontal = ("members",)
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    list_display = ("name", "is_active", "client_count", "created_at")
    list_filter = ("is_active", "created_at")
    search_fields = ("name", "clients__name", "clients__client_id")
    actions = ("disable_projects", "enable_projects")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).annotate(client_count=Count("clients"))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> forms.ModelMultipleChoiceField[Any] | None:
        if db_field.name == "scopes":
            kwargs["form_class"] = ScopeChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("clients"), ordering="client_count")
    def client_count(self, obj: Project) -> int:
        return int(getattr(obj, "client_count", 0))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = dict(extra_context or {})
        add_perm = f"{Client._meta.app_label}.{get_permission_codename('add', Client._meta)}"
        if request.user.has_perm(add_perm):
            extra_context["add_client_url"] = reverse(
                f"admin:{Client._meta.app_label}_{Client._meta.model_name}_add",
                current_app=self.admin_site.name) + f"?project={unquote(object_id)}"
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Disable OAuth2 client credentials of selected projects"),
                  permissions=["change"])
    def disable_projects(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        count = set_active_each(self, request, queryset, active=False)
        self.message_user(request, ngettext(
            "Disabled %d project: its clients get no tokens and their tokens are refused.",
            "Disabled %d projects: their clients get no tokens and their tokens are refused.",
            count) % count, messages.SUCCESS)

    @admin.action(description=_("Enable OAuth2 client credentials of selected projects"),
                  permissions=["change"])
    def enable_projects(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        count = set_active_each(self, request, queryset, active=True)
        self.message_user(request, ngettext("Enabled %d project.", "Enabled %d projects.",
                                            count) % count, messages.SUCCESS)


@admin.register(Scope)
class ScopeAdmin(ScopeAdminBase):
    list_display = ("name", "description", "client_count")
    search_fields = ("name", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Scope]:
        return super().get_queryset(request).annotate(client_count=Count("clients"))

    @admin.display(description=_("clients"), ordering="client_count")
    def client_count(self, obj: Scope) -> int:
        return int(getattr(obj, "client_count", 0))
