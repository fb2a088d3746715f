"""Smoke test of the demo project: migrate, demo_setup, and a token with what it printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args, env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=True).stdout


def test_demo_setup_prints_working_credentials(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "OAUTH_CC_ISSUER": "http://127.0.0.1:8765"}
    run(["manage.py", "migrate", "--noinput"], env)
    run(["manage.py", "demo_setup"], env)
    out = run(["manage.py", "demo_setup"], env)  # running it twice works
    client_id = re.search(r"client_id:\s+(\S+)", out).group(1)
    secret = re.search(r"client_secret:\s+(\S+)", out).group(1)
    assert "curl -X POST http://127.0.0.1:8765/oauth/token" in out
    assert f'-d "client_secret={secret}"' in out
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().post('/oauth/token', 'grant_type=client_credentials&client_id="
        f"{client_id}&client_secret={secret}&scope=address+phone',"
        " content_type='application/x-www-form-urlencoded')\n"
        "print(r.status_code, json.dumps(r.json()))\n"
        "auth = {'Authorization': 'Bearer ' + r.json()['access_token']}\n"
        "url = '/api/au/address/autocomplete/?q=274+Harb&source=GNAF,PAF&format=json'\n"
        "for headers in (auth, {}):\n"
        "    a = Client().get(url, headers=headers)\n"
        "    print(a.status_code, json.dumps(a.json()))\n"
    )
    token, api, no_token = run(["-c", script], env).splitlines()
    assert token.startswith("200 ")
    assert '"scope": "address phone"' in token
    # The demo's own settings: its API answers the seed's example, errors in the seed format.
    assert api.startswith("200 ")
    assert '"full_address": "274 Harbour Drive, COFFS HARBOUR NSW 2450"' in api
    assert no_token == ('400 {"completions": [], "message": "Invalid or expired bearer token", '
                        '"error_code": "1024", "success": false}')
