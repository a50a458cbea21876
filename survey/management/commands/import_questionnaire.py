"""``manage.py import_questionnaire FILE [--replace] [--publish]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from survey.interchange import DefinitionError, read_definition_file
from survey.models import Questionnaire
from survey.services.questionnaires import questionnaire_import, questionnaire_publish


class Command(BaseCommand):
    help = "Import a questionnaire definition file (questionnaire/v1 YAML or JSON, or an XLSForm)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", help="a .yaml, .yml or .json definition file, or an XLSForm (.xlsx, .xls)"
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="update the questionnaire with the same slug (its structure is locked once "
            "it has responses; labels, scores and analysis settings can still change)",
        )
        parser.add_argument("--publish", action="store_true", help="open it for responses")

    def handle(self, *args: Any, file: str, replace: bool, publish: bool, **options: Any) -> None:
        path = Path(file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            read = read_definition_file(raw, filename=path.name)
            definition = read.document
            slug = definition.get("slug")
            existed = isinstance(slug, str) and Questionnaire.objects.filter(slug=slug).exists()
            with transaction.atomic():
                questionnaire = questionnaire_import(definition=definition, replace=replace)
                if publish:
                    questionnaire_publish(questionnaire=questionnaire)
        except DefinitionError as exc:
            for problem in exc.problems:
                self.stderr.write(f"  {problem}")
            count = len(exc.problems)
            raise CommandError(
                f"{file}: not imported ({count} problem{'s' if count != 1 else ''})"
            ) from exc
        for note in read.notes:
            self.stdout.write(f"  note: {note}")
        sections = questionnaire.sections.count()
        questions = questionnaire.questions.count()
        self.stdout.write(
            f"{'Replaced' if existed else 'Imported'} {questionnaire.slug}: {sections} sections, "
            f"{questions} questions ({questionnaire.status}, definition version "
            f"{questionnaire.definition_version})"
        )
