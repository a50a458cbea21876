"""``manage.py demo_setup``: what ``./wenji up`` needs to show something, done once.

Idempotent and quick on every later run (a few queries, no password hashing): imports and
publishes examples/ipb-survey.yaml unless ``ipb-survey`` exists, creates the superuser
``admin`` unless it exists (never changing an existing user's password), and prints where to
go and how to log in.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from survey.interchange import load_definition
from survey.models import Questionnaire
from survey.services.questionnaires import questionnaire_import, questionnaire_publish

DEMO_SLUG = "ipb-survey"
ADMIN_USERNAME = "admin"


def default_password_file() -> Path:
    return Path(settings.BASE_DIR) / ".local" / "admin-password"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def stored_password(path: Path) -> str:
    """The password saved in ``path``; a new random one, saved with mode 0600, if none is."""
    saved = _read(path)
    if saved:
        return saved
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode applies to new files only
    return password


class Command(BaseCommand):
    help = "Load the reference questionnaire and an admin login for a local demo (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password-file", type=Path, default=None)
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, password_file: Path | None, base_url: str, **options: Any) -> None:
        self._questionnaire()
        login = self._admin(password_file or default_password_file())
        base = base_url.rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    f"Admin:          {base}/admin/",
                    f"API docs:       {base}/api/v1/docs/",
                    f"Form:           {base}/s/{DEMO_SLUG}/",
                    f"Login:          {login}",
                ]
            )
        )

    def _questionnaire(self) -> None:
        existing = Questionnaire.objects.filter(slug=DEMO_SLUG).first()
        if existing is not None:
            self.stdout.write(f"{DEMO_SLUG} is already there ({existing.status}).")
            return
        path = Path(settings.BASE_DIR) / "examples" / f"{DEMO_SLUG}.yaml"
        definition = load_definition(path.read_bytes(), filename=path.name)
        with transaction.atomic():
            questionnaire = questionnaire_import(definition=definition)
            questionnaire_publish(questionnaire=questionnaire)
        self.stdout.write(f"Imported {DEMO_SLUG} from {path.name} and opened it.")

    def _admin(self, password_file: Path) -> str:
        user_model = get_user_model()
        lookup = {user_model.USERNAME_FIELD: ADMIN_USERNAME}
        if user_model.objects.filter(**lookup).exists():
            saved = _read(password_file)
            if saved:
                return f"{ADMIN_USERNAME} / {saved} (from {password_file})"
            return f"{ADMIN_USERNAME} (an existing user; its password was not changed)"
        password = stored_password(password_file)
        user_model.objects.create_superuser(**lookup, email="", password=password)
        self.stdout.write(f"Created the superuser {ADMIN_USERNAME}.")
        return f"{ADMIN_USERNAME} / {password} (saved in {password_file})"
