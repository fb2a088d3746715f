from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Warning, register

DEVELOPMENT_WARNING = (
    "This is the demo's development set-up (DEBUG on, or the SECRET_KEY generated for this "
    "checkout): a development server, not a deployment.")


def development_setup(**kwargs: Any) -> list[Warning]:
    """Say at start-up (runserver, migrate, check) that the demo is not a deployment."""
    if not getattr(settings, "DEVELOPMENT_SETUP", False):
        return []
    return [Warning(DEVELOPMENT_WARNING, id="demo.W001", hint=(
        "To deploy it, set DJANGO_SECRET_KEY (signing keys are encrypted under it), "
        "DJANGO_DEBUG=0 and DJANGO_ALLOWED_HOSTS, and serve it with a WSGI server."))]


class AddressesConfig(AppConfig):
    name = "demo_project.addresses"
    label = "demo_addresses"
    verbose_name = "Demo address API"

    def ready(self) -> None:
        register(development_setup)
