"""The portal's pages: the user's projects, a project's Credentials page, and its operations.

Server-rendered and usable without JavaScript. Operations are POST only (405 otherwise) with
CSRF. Create and regenerate answer with the page that shows the secret once (never cached);
the others redirect back to the Credentials page. Nothing here keeps a secret: not a redirect,
a message, the session or a log.

A client may authenticate with ``private_key_jwt`` instead (CONTRACT.md §11): created so, or
switched on its Client authentication page by pasting its public JWK Set or giving the URL
of one. It has no secret, so no page shows one; regenerating gives it a secret again (shown
once), and its keys stop working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from oauth_cc import clock, published_urls
from oauth_cc.models import Client, Project
from oauth_cc.portal import operations
from oauth_cc.portal.access import get_client, get_project, managed_projects
from oauth_cc.portal.forms import ClientKeysForm, CreateClientForm, keys_of
from oauth_cc.portal.keysets import PRIVATE_KEY_JWT, key_ids
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.shown_once import ShownOnce

View = Callable[..., HttpResponse]


def page(view: View) -> View:
    """A page: GET (or HEAD) only, for a signed-in user, never cached."""
    return require_safe(never_cache(login_required(view)))


def operation(view: View) -> View:
    """An operation: POST only (405 otherwise), CSRF even without the middleware, for a
    signed-in user, never cached, its form fields kept out of error reports."""
    return require_POST(csrf_protect(never_cache(login_required(
        sensitive_post_parameters()(view)))))


def form_page(view: View) -> View:
    """A page with a form: GET (or HEAD) shows it, POST (with CSRF) submits it; for a
    signed-in user, never cached, its form fields kept out of error reports."""
    return require_http_methods(["GET", "HEAD", "POST"])(csrf_protect(never_cache(
        login_required(sensitive_post_parameters()(view)))))


def _render(request: HttpRequest, template: str, context: dict[str, Any],
            status: int = 200) -> TemplateResponse:
    # Passed explicitly: a site may not use the auth and messages context processors.
    context = {"portal_user": request.user, "portal_messages": get_messages(request),
               **context}
    return TemplateResponse(request, f"oauth_cc/portal/{template}", context, status=status)


def _token_url() -> str | None:
    """The token endpoint's URL as the metadata gives it, if ``oauth_cc.urls`` is mounted."""
    try:
        return published_urls.token_endpoint_url()
    except NoReverseMatch:
        return None


def _credentials_url(request: HttpRequest, project: Project) -> str:
    namespace = request.resolver_match.namespace if request.resolver_match else None
    return reverse("oauth_cc_portal:credentials", kwargs={"project_pk": project.pk},
                   current_app=namespace)


def _back_to_credentials(request: HttpRequest, project: Project) -> HttpResponseRedirect:
    response = HttpResponseRedirect(_credentials_url(request, project))
    response.status_code = 303  # See Other: the browser follows with GET
    return response


@page
def project_list(request: HttpRequest) -> HttpResponse:
    """The projects the user may manage, each linking to its Credentials page."""
    projects = managed_projects(request).annotate(
        client_count=Count("clients", distinct=True)).distinct()
    return _render(request, "projects.html", {"projects": projects})


def credentials_page(request: HttpRequest, project: Project,
                     form: CreateClientForm | None = None, *, error: str | None = None,
                     status: int = 200) -> TemplateResponse:
    """The Credentials page: the project's clients (never a secret or hash) and the create
    form, or the "not enabled" notice."""
    clients = list(project.clients.prefetch_related("scopes").order_by("created_at", "pk"))
    for client in clients:
        client.portal_key_ids = key_ids(client)  # type: ignore[attr-defined]
    limit = oauth_cc_settings.PORTAL_MAX_CLIENTS
    return _render(request, "credentials.html", {
        "project": project,
        "clients": clients,
        "form": form or CreateClientForm(project=project),
        "error": error,
        "max_clients": limit,
        "at_limit": len(clients) >= limit,
        "grace_seconds": oauth_cc_settings.SECRET_ROTATION_GRACE_SECONDS,
        "token_url": _token_url(),
    }, status=status)


@page
def credentials(request: HttpRequest, project_pk: int) -> HttpResponse:
    return credentials_page(request, get_project(request, project_pk))


@sensitive_variables("secret")
def secret_page(request: HttpRequest, client: Client, secret: ShownOnce, *,
                regenerated: bool, switched: bool = False) -> TemplateResponse:
    """The one page that shows ``client``'s secret: the response to the POST that made it.
    ``never_cache`` on every portal view sends ``Cache-Control: no-store``. ``switched``: the
    client authenticated with its keys until now."""
    expires = client.previous_secret_expires_at
    return _render(request, "secret.html", {
        "project": client.project,
        "client": client,
        "secret": secret,
        "scopes": [scope.name for scope in client.scopes.all()],
        "regenerated": regenerated,
        "switched": switched,
        "previous_valid_until": (expires if regenerated and expires is not None
                                 and expires > clock.now_datetime() else None),
        "token_url": _token_url(),
    })


@operation
@sensitive_variables("secret")
def create(request: HttpRequest, project_pk: int) -> HttpResponse:
    project = get_project(request, project_pk)
    form = CreateClientForm(request.POST, project=project)
    try:
        operations.require_enabled(project)
        if not form.is_valid():
            return credentials_page(request, project, form)
        client, secret = operations.create_client(
            project, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            actor=request.user, keys=form.keys(),
            require_dpop=form.cleaned_data["require_dpop"])
    except operations.ProjectNotEnabled as e:
        return credentials_page(request, project, form, error=e.message, status=409)
    except operations.KeysRefused as e:
        form.add_error(e.field, e.message)
        return credentials_page(request, project, form)
    except operations.PortalRefusal as e:
        form.add_error(None, e.message)
        return credentials_page(request, project, form)
    if secret is None:  # private_key_jwt: nothing to show once
        messages.success(request, gettext(
            "“%(name)s” is created, with client ID %(client_id)s. It authenticates with its "
            "private key; it has no secret.") % {"name": client.name,
                                                "client_id": client.client_id},
            fail_silently=True)
        return _back_to_credentials(request, project)
    return secret_page(request, client, secret, regenerated=False)


def authentication_page(request: HttpRequest, client: Client,
                        form: ClientKeysForm | None = None, *, status: int = 200
                        ) -> TemplateResponse:
    """A client's Client authentication page: how it authenticates, its registered keys, and
    the forms to register (other) keys or to go back to a secret."""
    uses_keys = client.auth_method == PRIVATE_KEY_JWT
    return _render(request, "authentication.html", {
        "project": client.project,
        "client": client,
        "uses_keys": uses_keys,
        "key_ids": key_ids(client),
        "form": form or ClientKeysForm(initial={"jwks": client.jwks,
                                                "jwks_uri": client.jwks_uri}),
        "grace_seconds": oauth_cc_settings.SECRET_ROTATION_GRACE_SECONDS,
        "token_url": _token_url(),
    }, status=status)


@form_page
def authentication(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    """GET: the page. POST: register the pasted JWK Set or the JWK Set URL, making the client
    ``private_key_jwt`` (its secret stops working at once), then back to Credentials."""
    project = get_project(request, project_pk)
    client = get_client(project, client_id)
    if request.method != "POST":
        return authentication_page(request, client)
    form = ClientKeysForm(request.POST)
    try:
        operations.require_enabled(project)
        if not form.is_valid():
            return authentication_page(request, client, form)
        switched = client.auth_method != PRIVATE_KEY_JWT
        operations.use_private_key_jwt(client, keys_of(form), actor=request.user)
    except operations.KeysRefused as e:
        form.add_error(e.field, e.message)
        return authentication_page(request, client, form)
    except operations.PortalRefusal as e:
        return credentials_page(request, project, error=e.message, status=409)
    done = (gettext("“%(name)s” now authenticates with its private key: its secret no longer "
                    "works.") if switched
            else gettext("The public keys of “%(name)s” are updated."))
    messages.success(request, done % {"name": client.name}, fail_silently=True)
    return _back_to_credentials(request, project)


@operation
@sensitive_variables("secret")
def regenerate(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    project = get_project(request, project_pk)
    client = get_client(project, client_id)
    switched = client.auth_method == PRIVATE_KEY_JWT
    try:
        secret = operations.regenerate_secret(client, actor=request.user)
    except operations.PortalRefusal as e:
        return credentials_page(request, project, error=e.message, status=409)
    return secret_page(request, client, secret, regenerated=True, switched=switched)


def _change(request: HttpRequest, project_pk: int, client_id: str,
            change: Callable[[Client], Any], done: str) -> HttpResponse:
    """Apply ``change`` to the client, then back to the Credentials page saying ``done``."""
    project = get_project(request, project_pk)
    client = get_client(project, client_id)
    try:
        change(client)
    except operations.PortalRefusal as e:
        return credentials_page(request, project, error=e.message, status=409)
    messages.success(request, done % {"name": client.name}, fail_silently=True)
    return _back_to_credentials(request, project)


@operation
def disable(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    return _change(request, project_pk, client_id,
                   lambda c: operations.set_active(c, False, actor=request.user),
                   gettext("“%(name)s” is disabled: it gets no tokens, and its tokens are "
                           "refused."))


@operation
def enable(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    return _change(request, project_pk, client_id,
                   lambda c: operations.set_active(c, True, actor=request.user),
                   gettext("“%(name)s” is enabled."))


@operation
def require_dpop(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    return _change(request, project_pk, client_id,
                   lambda c: operations.set_require_dpop(c, True, actor=request.user),
                   gettext("“%(name)s” now gets DPoP-bound tokens only: each token request "
                           "and API call must carry a DPoP proof of its key."))


@operation
def allow_bearer(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    return _change(request, project_pk, client_id,
                   lambda c: operations.set_require_dpop(c, False, actor=request.user),
                   gettext("“%(name)s” may get bearer tokens again (DPoP is optional)."))


@operation
def delete(request: HttpRequest, project_pk: int, client_id: str) -> HttpResponse:
    return _change(request, project_pk, client_id,
                   lambda c: operations.delete_client(c, actor=request.user),
                   gettext("“%(name)s” is deleted: its credentials no longer work."))
