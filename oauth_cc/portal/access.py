"""Which projects a request may manage in the portal, and finding them (or a 404).

A project the user may not manage and a client outside the project in the URL are both
``Http404``, never a 403: the answer must not tell whether they exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from oauth_cc.client_auth import could_be_client_id
from oauth_cc.models import Client, Project
from oauth_cc.settings import oauth_cc_settings


def members_projects(request: HttpRequest) -> QuerySet[Project]:
    """The default ``PORTAL_PROJECTS``: the projects whose ``members`` include the user."""
    if not request.user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(members=request.user)


def managed_projects(request: Any) -> QuerySet[Project]:
    """The projects ``request`` may manage: ``PORTAL_PROJECTS(request)``, or the user's.

    Raises ``ImproperlyConfigured`` if ``PORTAL_PROJECTS`` returns anything but a QuerySet of
    ``Project``: a list would be filtered in Python, a queryset of another model never.
    """
    source = oauth_cc_settings.PORTAL_PROJECTS
    if source is None:
        return members_projects(request)
    function = import_string(source) if isinstance(source, str) else source
    projects = function(request)
    if not isinstance(projects, QuerySet) or projects.model is not Project:
        raise ImproperlyConfigured("OAUTH_CC['PORTAL_PROJECTS'] must return a QuerySet of "
                                   "oauth_cc.Project.")
    return projects


def get_project(request: Any, project_pk: int) -> Project:
    """The project ``project_pk`` if ``request`` may manage it; raises ``Http404`` if not."""
    project = managed_projects(request).filter(pk=project_pk).first()
    if project is None:
        raise Http404(gettext("No such project."))
    return project


def get_client(project: Project, client_id: str) -> Client:
    """The client ``client_id`` of ``project``; raises ``Http404`` for any other."""
    # Not looked up if it cannot be one: PostgreSQL refuses a NUL in any text parameter.
    client = (Client.objects.filter(project=project, client_id=client_id).first()
              if could_be_client_id(client_id) else None)
    if client is None:
        raise Http404(gettext("No such client in this project."))
    client.project = project  # the row just checked, not a second read
    return client
