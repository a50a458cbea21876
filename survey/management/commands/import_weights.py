"""``manage.py import_weights SLUG FILE.csv``: each response's weight, computed elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from survey.models import Questionnaire
from survey.services.given_weights import (
    GivenWeightsInvalid,
    given_weights_import,
    given_weights_read,
)


class Command(BaseCommand):
    help = (
        "Import response weights from a CSV file with the columns response_id and weight, for "
        "a questionnaire whose definition says weights: {from: file}. All or nothing; the next "
        "analysis run uses them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        questionnaire = Questionnaire.objects.filter(slug=options["slug"]).first()
        if questionnaire is None:
            raise CommandError(f"no questionnaire {options['slug']}")
        if (questionnaire.weights or {}).get("from") != "file":
            raise CommandError(
                f"{questionnaire.slug}: its definition does not take weights from a file "
                "(weights: {from: file})"
            )
        try:
            text = options["file"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{options['file']}: {error}") from error
        try:
            count = given_weights_import(
                questionnaire=questionnaire, weights=given_weights_read(text)
            )
        except GivenWeightsInvalid as error:
            raise CommandError("\n".join(error.lines)) from error
        self.stdout.write(
            f"{questionnaire.slug}: {count} weights imported; an analysis run uses them."
        )
