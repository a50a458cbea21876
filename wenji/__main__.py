"""The two commands of the README, for a machine with nothing but Python 3.11:

    python3 -m wenji up     install into .venv, migrate SQLite, load the reference
                            questionnaire with its demo data and analysis, print a login,
                            serve on http://127.0.0.1:8000 (or WENJI_ADDR)
    python3 -m wenji test   install into .venv (with the test tools) and run the whole suite

Anything after ``test`` goes to pytest (``python3 -m wenji test -k expressions -x``), anything
after ``up`` to runserver. The pinned requirements are installed once, and again only when a
requirements file changes. Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"


def _python_311() -> str:
    """This interpreter when it is 3.11, else the first python3.11 on PATH (or $PYTHON)."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    for candidate in (os.environ.get("PYTHON"), "python3.11"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    sys.exit("wenji needs Python 3.11 (set PYTHON=/path/to/python3.11)")


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv(want: str) -> None:
    """``.venv`` with ``requirements/<want>.txt`` installed, reinstalled when a file changes."""
    if not VENV_PYTHON.exists():
        if sys.version_info[:2] == (3, 11):
            venv.create(VENV, with_pip=True)
        else:
            subprocess.run([_python_311(), "-m", "venv", str(VENV)], check=True)
    stamp = VENV / f".installed-{want}"
    digest = _requirements_digest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    print(f"==> installing requirements/{want}.txt into .venv", flush=True)
    subprocess.run(
        [
            str(VENV_PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(ROOT / "requirements" / f"{want}.txt"),
        ],
        check=True,
    )
    stamp.write_text(digest + "\n")


def _run(*args: str) -> None:
    subprocess.run([str(VENV_PYTHON), *args], check=True, cwd=ROOT)


def up(extra: list[str]) -> None:
    ensure_venv("base")
    os.environ.setdefault("DEBUG", "true")
    _run("manage.py", "migrate", "--noinput", "-v", "0")
    addr = os.environ.get("WENJI_ADDR") or "127.0.0.1:8000"
    _run("manage.py", "demo_setup", "--base-url", f"http://{addr}")
    os.chdir(ROOT)
    # The server runs analysis and exports in threads, so that pages show their progress.
    os.environ.setdefault("JOBS_IN_THREADS", "true")
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), "manage.py", "runserver", addr, *extra])


def test(extra: list[str]) -> None:
    ensure_venv("dev")
    os.chdir(ROOT)
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), "-m", "pytest", *extra])


def main(argv: list[str]) -> None:
    command, extra = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "up":
        up(extra)
    elif command == "test":
        test(extra)
    else:
        print(__doc__.split("\n\n")[0] + "\n" + __doc__.split("\n\n")[1])
        sys.exit(0 if command in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except subprocess.CalledProcessError as failed:
        sys.exit(failed.returncode)
