"""``manage.py report_export SLUG [--lang zh-hans|en] [--format md|docx] [-o FILE]``: the
drafted report of the questionnaire's latest run, as the report page shows it (with the
analysts' rewrites), written as Markdown or as a Word file. Filters as on the page:
``--filter segment=active`` (repeatable)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from analysis.report_docx import report_docx
from analysis.report_markdown import report_markdown
from analysis.services.filtered import PAGE_FILTERS
from analysis.services.report_build import report_build
from survey.selectors_responses import questionnaire_by_slug


class Command(BaseCommand):
    help = "Write the drafted report of a questionnaire's latest run as Markdown or Word."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the questionnaire's slug")
        parser.add_argument(
            "--lang",
            default=settings.LANGUAGE_CODE,
            choices=[code for code, _name in settings.LANGUAGES],
            help="the report's language (default: %(default)s)",
        )
        parser.add_argument("--format", default="md", choices=["md", "docx"])
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"a results page filter ({', '.join(PAGE_FILTERS)}); repeatable",
        )
        parser.add_argument("-o", "--output", help="the file to write (default: standard out)")

    def handle(self, *args: Any, **options: Any) -> None:
        questionnaire = questionnaire_by_slug(slug=options["slug"])
        if questionnaire is None:
            raise CommandError(f"There is no questionnaire {options['slug']!r}.")
        asked = {}
        for given in options["filter"]:
            name, found, value = given.partition("=")
            if not found or name not in PAGE_FILTERS:
                raise CommandError(
                    f"--filter {given!r}: give NAME=VALUE, NAME one of {', '.join(PAGE_FILTERS)}."
                )
            asked[name] = value
        language = options["lang"]
        with translation.override(language):
            report = report_build(questionnaire=questionnaire, language=language, asked=asked)
            if report.draft is None:
                raise CommandError(f"No analysis of {questionnaire.slug} has finished yet.")
            if report.filter_errors:
                raise CommandError("; ".join(report.filter_errors))
            if options["format"] == "md":
                stale = _("figures changed since this paragraph was rewritten")
                content = report_markdown(report, stale_note=stale).encode("utf-8")
            else:
                content = report_docx(report)
        if options["output"]:
            Path(options["output"]).write_bytes(content)
            self.stdout.write(f"Wrote {options['output']} ({len(content):,} bytes).")
        elif options["format"] == "docx":
            raise CommandError("A Word file needs -o FILE.")
        else:
            sys.stdout.buffer.write(content)
