"""``manage.py export_questionnaire SLUG [-o FILE] [--format yaml|json|xlsform]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from survey.interchange import FILE_FORMATS, write_definition_file
from survey.models import Questionnaire
from survey.services.questionnaires import questionnaire_export

_BY_SUFFIX = {".json": "json", ".xlsx": "xlsform", ".yaml": "yaml", ".yml": "yaml"}


class Command(BaseCommand):
    help = (
        "Write a questionnaire's definition (questionnaire/v1 YAML or JSON, or an XLSForm) "
        "to stdout or a file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("-o", "--output", help="file to write (default: stdout)")
        parser.add_argument(
            "--format",
            choices=tuple(FILE_FORMATS),
            help="default: from the output file's extension (.json, .xlsx), else yaml",
        )

    def handle(
        self, *args: Any, slug: str, output: str | None, format: str | None, **options: Any
    ) -> None:
        questionnaire = Questionnaire.objects.filter(slug=slug).first()
        if questionnaire is None:
            raise CommandError(f"no questionnaire has the slug {slug!r}")
        suffix = Path(output).suffix.lower() if output else ""
        fmt = format or _BY_SUFFIX.get(suffix, "yaml")
        data = write_definition_file(questionnaire_export(questionnaire=questionnaire), fmt=fmt)
        if output is None:
            if fmt == "xlsform":
                raise CommandError("an XLSForm is a workbook: give a file with -o FILE.xlsx")
            self.stdout.write(data.decode(), ending="")
            return
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from exc
        self.stdout.write(f"Wrote {slug} to {output} ({fmt})")
