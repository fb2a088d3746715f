"""Smoke test of the demo project: migrate, demo_setup, and a token with what it printed."""

from __future__ import annotations

import json
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


def test_demo_setup_prints_a_customer_login_for_the_portal(tmp_path):
    """A non-staff customer, member of the demo project, with a new password each run; the
    home page links the admin and the portal (CONTRACT.md §10)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "OAUTH_CC_ISSUER": "http://127.0.0.1:8765"}
    run(["manage.py", "migrate", "--noinput"], env)
    first = run(["manage.py", "demo_setup"], env)
    out = run(["manage.py", "demo_setup"], env)
    line = re.compile(r"Portal:\s+(\S+)\s+user (\S+)\s+password (\S+)")
    url, user, password = line.search(out).groups()
    assert url == "http://127.0.0.1:8765/portal/" and user == "customer"
    assert password != line.search(first).group(3)  # a fresh password each run
    script = (
        "import django, json; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        "user = get_user_model().objects.get(username='customer')\n"
        "print(user.is_staff, user.is_superuser)\n"
        "home = Client().get('/').content.decode()\n"
        "print('href=\"/admin/\"' in home, 'href=\"/portal/\"' in home)\n"
        "http = Client()\n"
        "r = http.post('/accounts/login/', {'username': 'customer', "
        f"'password': '{password}'}})\n"
        "print(r.status_code, r['Location'])\n"
        "print(json.dumps(http.get('/portal/api/projects/').json()))\n"
        "print(Client().get('/portal/')['Location'])\n"
    )
    staff, links, login, projects, anonymous = run(["-c", script], env).splitlines()
    assert staff == "False False"
    assert links == "True True"
    assert login == "302 /portal/"
    [project] = json.loads(projects)
    assert project["name"] == "Demo project" and project["clients"] == 1
    assert sorted(scope["name"] for scope in project["allowed_scopes"]) == [
        "address", "email", "phone"]
    assert anonymous == "/accounts/login/?next=/portal/"


def test_migrate_alone_gives_the_demo_its_scopes(tmp_path):
    """`migrate` then `create_oauth_client --scopes` works without demo_setup."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    run(["manage.py", "migrate", "--noinput"], env)
    created = json.loads(run(["manage.py", "create_oauth_client", "partner",
                              "--scopes", "address phone email", "--json"], env))
    assert set(created) == {"client_id", "client_secret", "project"}
    metadata = run(["-c", "import django, json; django.setup()\n"
                          "from django.test import Client\n"
                          "print(json.dumps(Client().get('/.well-known/oauth-authorization-server')"
                          ".json()['scopes_supported']))"], env)
    assert sorted(json.loads(metadata)) == ["address", "email", "phone"]


def test_the_printed_curl_lines_work_against_the_running_demo(tmp_path):
    """What `make demo` prints, pasted into a shell, against the demo's real server."""
    import shutil
    import socket
    import time
    import urllib.request

    if shutil.which("curl") is None or shutil.which("bash") is None:
        import pytest

        pytest.skip("needs curl and bash")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo_project.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "OAUTH_CC_ISSUER": base}
    run(["manage.py", "migrate", "--noinput"], env)
    out = run(["manage.py", "demo_setup"], env)
    step2 = out.split("2. Call the API with it")[1].split("3. The public signing keys")[0]
    commands = "\n".join(step2.splitlines()[1:])
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                               f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/.well-known/jwks.json", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the demo server did not start"
                time.sleep(0.1)
        result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + commands], env=env,
                                capture_output=True, text=True, timeout=60, check=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    bodies, text, decoder = [], result.stdout.strip(), json.JSONDecoder()
    while text:  # curl prints the three bodies back to back
        body, end = decoder.raw_decode(text)
        bodies.append(body)
        text = text[end:].lstrip()
    autocomplete, verification, phone = bodies
    assert autocomplete["completions"][0]["full_address"] == \
        "274 Harbour Drive, COFFS HARBOUR NSW 2450"
    assert verification["matched"] is True
    assert phone["success"] is True


def test_the_demo_commits_no_secret_key(tmp_path):
    """Its key is made per checkout: a copy of a demo database is no use without it."""
    from demo_project import settings as demo_settings

    source = (ROOT / "demo_project" / "settings.py").read_text()
    assert not re.search(r"SECRET_KEY\s*=\s*['\"]", source)
    assert "os.environ.get(\"DJANGO_SECRET_KEY\", \"" not in source
    first = demo_settings.checkout_secret_key(tmp_path / "one")
    assert demo_settings.checkout_secret_key(tmp_path / "one") == first  # kept
    assert demo_settings.checkout_secret_key(tmp_path / "two") != first  # per checkout
    assert len(first) >= 50
    assert (tmp_path / "one").stat().st_mode & 0o077 == 0
    assert sorted(tmp_path.iterdir()) == [tmp_path / "one", tmp_path / "two"]  # no leftovers
    ignored = subprocess.run(["git", "check-ignore", "-q", "demo_project/.secret_key"], cwd=ROOT)
    assert ignored.returncode == 0 or not (ROOT / ".git").exists()


def test_the_demo_says_it_is_a_development_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="demo_project.settings",
               DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    checked = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    assert "demo.W001" in checked.stderr and "not a deployment" in checked.stderr
    deployed = {**env, "DJANGO_SECRET_KEY": "x" * 50, "DJANGO_DEBUG": "0"}
    checked = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=deployed,
                             capture_output=True, text=True, timeout=120, check=True)
    assert "demo.W001" not in checked.stderr + checked.stdout
