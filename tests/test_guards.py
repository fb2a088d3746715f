"""Guards: migrations match the models, the app imports before Django is set up."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "oauth_cc", "--check", "--dry-run", stdout=out)


@pytest.mark.parametrize("module", ["oauth_cc", "oauth_cc.keys", "oauth_cc.scopes",
                                    "oauth_cc.clock", "oauth_cc.exceptions"])
def test_importable_without_django_settings(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"],
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "", "PYTHONPATH": "."})
    assert result.returncode == 0, result.stderr


def test_checks_are_registered():
    from django.core.checks.registry import registry

    from oauth_cc.checks import check_settings

    assert check_settings in registry.registered_checks
