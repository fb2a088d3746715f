"""The admin of signing keys: read only, never their private part; rotation as actions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from oauth_cc import clock
from oauth_cc.admin.common import change_message, lookup_reveals
from oauth_cc.keys import PRIVATE_JWK_MEMBERS
from oauth_cc.models import SigningKey, SigningKeyState, retired_key_lifetime

if TYPE_CHECKING:  # the admin classes are generic in django-stubs only
    SigningKeyAdminBase = admin.ModelAdmin[SigningKey]
else:
    SigningKeyAdminBase = admin.ModelAdmin


@admin.register(SigningKey)
class SigningKeyAdmin(SigningKeyAdminBase):
    """Signing keys, read only: public parts and dates, never the private key.

    Keys change only through rotation (the actions here, ``rotate_signing_key``), which keeps
    the invariants: one active key, one published ``next`` key, retired keys published while
    their tokens may live. Deleting is disallowed: a published key still verifies live tokens,
    and ``prune_signing_keys`` already deletes the retired keys that no longer can.
    """

    change_list_template = "oauth_cc/admin/signingkey_change_list.html"
    list_display = ("kid", "algorithm", "short_state", "published", "created_at",
                    "activated_at", "retired_at")
    list_filter = ("state", "algorithm")
    search_fields = ("kid",)
    fields = ("kid", "algorithm", "state", "published", "created_at", "activated_at",
              "retired_at", "public_key")
    readonly_fields = fields
    #: Never shown, and refused as changelist lookups.
    hidden_fields = ("private_key_ciphertext",)
    exclude = hidden_fields
    actions = ("rotate_keys", "retire_keys")

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        return (not lookup_reveals(lookup, self.hidden_fields)
                and super().lookup_allowed(lookup, value, request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SigningKey | None = None
                              ) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SigningKey | None = None
                              ) -> bool:
        return False

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        """Rotating and retiring need the model's change permission."""
        opts = self.opts
        return request.user.has_perm(
            f"{opts.app_label}.{get_permission_codename('change', opts)}")

    @admin.display(description=_("state"), ordering="state")
    def short_state(self, obj: SigningKey) -> str:
        return obj.state

    @admin.display(description=_("in the JWKS"), boolean=True)
    def published(self, obj: SigningKey) -> bool:
        if obj.state != SigningKeyState.RETIRED:
            return True
        cutoff = clock.now_datetime() - retired_key_lifetime()
        return obj.retired_at is not None and obj.retired_at > cutoff

    @admin.display(description=_("public key (JWK)"))
    def public_key(self, obj: SigningKey) -> str:
        public = {k: v for k, v in obj.jwk().items() if k not in PRIVATE_JWK_MEMBERS}
        return format_html('<pre style="margin: 0; white-space: pre-wrap; '
                           'word-break: break-all">{}</pre>',
                           json.dumps(public, indent=2, sort_keys=True))

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_rotate"
        return [path("rotate/", self.admin_site.admin_view(self.rotate_view), name=name),
                *super().get_urls()]

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}),
                         "can_rotate": self.has_rotate_permission(request)}
        return super().changelist_view(request, extra_context)

    @method_decorator(require_POST)
    def rotate_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's "Rotate signing keys" button (an action needs a selection)."""
        if not self.has_rotate_permission(request):
            raise PermissionDenied
        self._rotate(request)
        return HttpResponseRedirect(reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
            current_app=self.admin_site.name))

    def _rotate(self, request: HttpRequest) -> SigningKey:
        key = SigningKey.objects.rotate()
        self.log_change(request, key, change_message(str(self.opts.get_field("state")
                                                          .verbose_name)))
        self.message_user(request, gettext(
            "Rotated the signing keys: %(kid)s is now active; the previous key stays published "
            "until its tokens expire.") % {"kid": key.kid}, messages.SUCCESS)
        return key

    @admin.action(description=_("Rotate signing keys (the selection does not matter)"),
                  permissions=["rotate"])
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        """Promote the ``next`` key, retire the active one, create a new ``next`` key."""
        self._rotate(request)

    @admin.action(description=_("Retire selected keys (active: rotate; next: replace)"),
                  permissions=["rotate"])
    def retire_keys(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        """Take the selected keys out of service without breaking live tokens.

        A selected ``next`` key is deleted and replaced by a new ``next`` key (it never
        signed). A selected active key is retired by a rotation: the ``next`` key, published
        in advance, becomes active, and the old key stays published until its tokens expire.
        Both selected: the next key is replaced first, so the new active key is one the
        selection did not contain (verifiers learn it on their next JWKS refresh). Retired
        keys are left alone.
        """
        selected = dict(queryset.values_list("pk", "state"))
        if SigningKeyState.NEXT in selected.values():
            try:
                new = SigningKey.objects.replace_next(among=list(selected))
            except IntegrityError:
                self.message_user(request, gettext(
                    "Another rotation changed the keys at the same time; try again."),
                    messages.ERROR)
                return
            if new is not None:
                self.log_change(request, new, change_message(str(
                    self.opts.get_field("state").verbose_name)))
                self.message_user(request, gettext(
                    "Replaced the next key: %(kid)s is the new next key.") % {"kid": new.kid},
                    messages.SUCCESS)
        if SigningKeyState.ACTIVE in selected.values():
            self._rotate(request)
        if set(selected.values()) <= {SigningKeyState.RETIRED}:
            self.message_user(request, gettext("The selected keys are already retired."),
                              messages.WARNING)
