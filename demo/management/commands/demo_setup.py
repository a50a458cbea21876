"""``manage.py demo_setup``: what ``python3 -m wenji up`` needs to show something, done once.

Idempotent and quick on every later run (a few queries, no password hashing): imports and
publishes examples/ipb-survey.yaml unless ``ipb-survey`` exists; while the open questionnaire
has no responses, generates the report's 2,299 (calibrated by
examples/ipb-survey.calibration.yaml, so the results tell the report's story) and runs the
analysis; creates the superuser ``admin`` unless it exists (never changing an existing user's
password); and prints where to go and how to log in.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Exists, OuterRef

from demo.calibration import CalibrationError
from demo.generate import GenerateError, calibration_read, responses_generate
from demo.management.commands.generate_responses import ProgressBar
from survey.interchange import load_definition
from survey.models import Questionnaire, Response
from survey.services.questionnaires import questionnaire_import, questionnaire_publish

DEMO_SLUG = "ipb-survey"
ADMIN_USERNAME = "admin"
DEMO_RESPONSES = 2299  # as many as the report's survey returned
DEMO_SEED = 2020  # the same seed gives the same demo (and tests/test_demo_calibration.py)


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
    help = (
        "Load the reference questionnaire with generated responses and their analysis, and an "
        "admin login, for a local demo (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password-file", type=Path, default=None)
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--responses",
            type=int,
            default=DEMO_RESPONSES,
            help=f"responses to generate while it has none ({DEMO_RESPONSES}; 0: none)",
        )

    def handle(
        self,
        *args: Any,
        password_file: Path | None,
        base_url: str,
        responses: int,
        **options: Any,
    ) -> None:
        questionnaire, answered = self._questionnaire()
        if responses > 0 and questionnaire.status == Questionnaire.Status.OPEN and not answered:
            self._responses(questionnaire, responses)
        login = self._admin(password_file or default_password_file())
        base = base_url.rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    f"Form:           {base}/s/{DEMO_SLUG}/",
                    f"Results:        {base}/results/{DEMO_SLUG}/",
                    f"Studio:         {base}/studio/",
                    f"Admin:          {base}/admin/",
                    f"API docs:       {base}/api/v1/docs/",
                    f"Login:          {login}",
                ]
            )
        )

    def _questionnaire(self) -> tuple[Questionnaire, bool]:
        """The demo questionnaire and whether it has responses: one query when it exists."""
        answered = Exists(Response.objects.filter(questionnaire=OuterRef("pk")))
        existing = Questionnaire.objects.filter(slug=DEMO_SLUG).annotate(answered=answered).first()
        if existing is not None:
            self.stdout.write(f"{DEMO_SLUG} is already there ({existing.status}).")
            return existing, existing.answered
        path = Path(settings.BASE_DIR) / "examples" / f"{DEMO_SLUG}.yaml"
        definition = load_definition(path.read_bytes(), filename=path.name)
        with transaction.atomic():
            questionnaire = questionnaire_import(definition=definition)
            questionnaire = questionnaire_publish(questionnaire=questionnaire)
        self.stdout.write(f"Imported {DEMO_SLUG} from {path.name} and opened it.")
        return questionnaire, False

    def _responses(self, questionnaire: Questionnaire, count: int) -> None:
        """Generate calibrated responses, then analyse them (in this process without a broker)."""
        path = Path(settings.BASE_DIR) / "examples" / f"{DEMO_SLUG}.calibration.yaml"
        self.stdout.write(f"Generating {count} responses calibrated by {path.name}:")
        try:
            result = responses_generate(
                questionnaire=questionnaire,
                count=count,
                seed=DEMO_SEED,
                calibration=calibration_read(questionnaire=questionnaire, path=path),
                on_progress=ProgressBar(self.stderr),
            )
        except (CalibrationError, GenerateError) as error:
            raise CommandError(f"the demo responses could not be generated: {error}") from error
        self.stdout.write(
            f"Generated {result.planned} responses in {result.seconds:.1f} s. Analysing them:"
        )
        call_command("analysis_run", DEMO_SLUG, here=True, stdout=self.stdout, stderr=self.stderr)

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
