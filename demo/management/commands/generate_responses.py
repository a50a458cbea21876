"""``manage.py generate_responses SLUG N --seed S [--calibration FILE] [--invalid-rate auto]``.

Generates N responses to an open questionnaire with the latent-trait model of
``demo.generate`` and submits them through the normal submit path, printing a
progress bar on stderr. With ``--calibration`` the data reproduce the file's figures
(``examples/ipb-survey.calibration.yaml`` for the reference questionnaire).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from demo.calibration import CalibrationError
from demo.generate import (
    GenerateError,
    GenerateResult,
    calibration_read,
    responses_generate,
)
from survey.selectors_responses import questionnaire_by_slug

BAR_WIDTH = 30
KIND_WORDS = {
    "valid": "meant to be valid",
    "speeder": "speeders",
    "attention": "failed attention checks",
    "duplicate": "duplicates",
}


def invalid_rate(text: str) -> float | None:
    """``auto`` (None) or a fraction from 0 to 0.5."""
    if text == "auto":
        return None
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 0.5:
        raise argparse.ArgumentTypeError(f"use auto or a fraction from 0 to 0.5, not {text!r}")
    return rate


def moment(text: str) -> datetime:
    parsed = parse_datetime(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {text!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class ProgressBar:
    """``\\r  1200/2299 [###############...............]  52%`` on one line of ``stream``."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total
        if percent == self.shown and done != total:
            return
        self.shown = percent
        filled = done * BAR_WIDTH // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r  {done}/{total} [{bar}] {percent:3d}%", ending="")
        if done == total:
            self.stream.write("")
        self.stream.flush()


def summary(slug: str, seed: int, calibration: Path | None, result: GenerateResult) -> list[str]:
    rate = result.planned / result.seconds if result.seconds else 0.0
    source = f", calibration {calibration.name}" if calibration else ""
    kinds = ", ".join(
        f"{result.kinds[kind]} {words}"
        for kind, words in KIND_WORDS.items()
        if result.kinds.get(kind)
    )
    lines = [
        f"Generated {result.planned} responses for {slug} (seed {seed}{source}) in "
        f"{result.seconds:.1f} s ({rate:.0f}/s): {kinds}."
    ]
    if result.existing:
        lines.append(
            f"{result.existing} of them were stored already (this seed ran before); "
            f"{result.created} new."
        )
    lines += [f"Note: {note}" for note in result.notes]
    lines.append(f"Run `manage.py analysis_run {slug}` to apply the validity rules and tabulate.")
    return lines


class Command(BaseCommand):
    help = (
        "Generate N responses to an open questionnaire (a latent-trait model; with "
        "--calibration, reproducing the file's figures), submitted like any other response."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the questionnaire's slug (it must be open)")
        parser.add_argument("count", type=int, help="how many responses to submit")
        parser.add_argument("--seed", type=int, required=True, help="the same seed, the same data")
        parser.add_argument(
            "--calibration", type=Path, default=None, help="a wenji-calibration/1 file"
        )
        parser.add_argument(
            "--invalid-rate",
            type=invalid_rate,
            default=None,
            help="share meant to be invalid: auto (the calibration's, else 0.08) or 0 to 0.5",
        )
        parser.add_argument(
            "--until",
            type=moment,
            default=None,
            help="end of the three-week collection period (ISO 8601; default: now)",
        )

    def handle(
        self,
        *args: Any,
        slug: str,
        count: int,
        seed: int,
        calibration: Path | None,
        invalid_rate: float | None,
        until: datetime | None,
        **options: Any,
    ) -> None:
        questionnaire = questionnaire_by_slug(slug=slug)
        if questionnaire is None:
            raise CommandError(f"no questionnaire has the slug {slug!r}")
        if until is not None and until > timezone.now():
            raise CommandError("--until is in the future: responses cannot be submitted later")
        targets = None
        try:
            if calibration is not None:
                targets = calibration_read(questionnaire=questionnaire, path=calibration)
            result = responses_generate(
                questionnaire=questionnaire,
                count=count,
                seed=seed,
                calibration=targets,
                invalid_rate=invalid_rate,
                period_end=until,
                on_progress=ProgressBar(self.stderr),
            )
        except CalibrationError as error:
            problems = "\n".join(f"  {p}" for p in error.problems)
            raise CommandError(f"{calibration}: cannot be used:\n{problems}") from error
        except OSError as error:
            raise CommandError(f"cannot read {calibration}: {error.strerror}") from error
        except GenerateError as error:
            raise CommandError(str(error)) from error
        self.stdout.write("\n".join(summary(slug, seed, calibration, result)))
