import logging
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")
application = get_wsgi_application()

if getattr(settings, "DEVELOPMENT_SETUP", False):
    from demo_project.addresses.apps import DEVELOPMENT_WARNING

    # A WSGI server runs no system checks: say it here too.
    logging.getLogger("demo_project").warning(DEVELOPMENT_WARNING)
