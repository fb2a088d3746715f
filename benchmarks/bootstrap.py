"""Create or update the benchmark virtualenv, then run the benchmark in it.

    python3 benchmarks/bootstrap.py [benchmarks.run arguments]      (make bench, bench-quick)

The benchmark has its own virtualenv, ``.venv-bench`` (Django 5.2 LTS, ``pip install -e
'.[bench]'``: gunicorn, django-oauth-toolkit 3.4, simplejwt), so the peers are never
installed beside the project's development environment. It is (re)installed when missing or
older than ``setup.cfg`` / ``pyproject.toml``. Standard library only: it runs before the
virtualenv exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed"
DJANGO = "Django>=5.2,<6.0"  # the LTS the peers are measured on


def installed() -> bool:
    if not (PYTHON.exists() and STAMP.exists()):
        return False
    stamp = STAMP.stat().st_mtime
    return all((ROOT / f).stat().st_mtime <= stamp for f in ("setup.cfg", "pyproject.toml"))


def install() -> None:
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, timeout=600)
    subprocess.run([*pip, "-e", ".[bench]", DJANGO], check=True, cwd=ROOT, timeout=1200)
    STAMP.touch()


def main() -> None:
    if not installed():
        print(f"installing {VENV.name} ...", flush=True)
        install()
    os.chdir(ROOT)
    # Replace this process: the benchmark runs in the virtualenv, with our arguments.
    os.execv(str(PYTHON), [str(PYTHON), "-m", "benchmarks.run", *sys.argv[1:]])  # noqa: S606


if __name__ == "__main__":
    main()
