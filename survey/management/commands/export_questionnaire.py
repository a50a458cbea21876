"""``manage.py export_questionnaire SLUG [-o FILE] [--format yaml|json]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from survey.interchange import dump_definition
from survey.models import Questionnaire
from survey.services.questionnaires import questionnaire_export

FORMATS = ("yaml", "json")


class Command(BaseCommand):
    help = "Write a questionnaire's definition (questionnaire/v1) to stdout or a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("-o", "--output", help="file to write (default: stdout)")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="default: from the output file's extension (.json is JSON), else yaml",
        )

    def handle(
        self, *args: Any, slug: str, output: str | None, format: str | None, **options: Any
    ) -> None:
        questionnaire = Questionnaire.objects.filter(slug=slug).first()
        if questionnaire is None:
            raise CommandError(f"no questionnaire has the slug {slug!r}")
        fmt = format or ("json" if output and Path(output).suffix.lower() == ".json" else "yaml")
        text = dump_definition(questionnaire_export(questionnaire=questionnaire), fmt=fmt)
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from exc
        self.stdout.write(f"Wrote {slug} to {output} ({fmt})")
