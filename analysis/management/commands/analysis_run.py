"""``manage.py analysis_run SLUG [--wait]``: request an analysis run of a questionnaire.

Without a broker (Celery eager: a laptop, the demo) the run happens right here, printing its
progress. With workers the run is queued for them; ``--wait`` follows it until it ends.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.models import AnalysisRun
from analysis.selectors import run_by_id
from analysis.services.runs import analysis_run_execute, analysis_run_request
from survey.selectors_responses import questionnaire_by_slug


class Command(BaseCommand):
    help = (
        "Request an analysis run of a questionnaire (manual trigger). Without a broker it runs "
        "here, printing progress; with workers --wait follows it until it ends."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the questionnaire's slug")
        parser.add_argument(
            "--wait", action="store_true", help="with workers: wait for the run, printing progress"
        )
        parser.add_argument(
            "--here",
            action="store_true",
            help="run in this process even when workers are configured",
        )
        parser.add_argument(
            "--timeout", type=int, default=3600, help="seconds --wait waits at most (3600)"
        )

    def handle(
        self, *args: Any, slug: str, wait: bool, here: bool, timeout: int, **options: Any
    ) -> None:
        questionnaire = questionnaire_by_slug(slug=slug)
        if questionnaire is None:
            raise CommandError(f"no questionnaire with the slug {slug!r}")
        eager = settings.CELERY_TASK_ALWAYS_EAGER or here
        run = analysis_run_request(
            questionnaire_id=questionnaire.pk,
            trigger=AnalysisRun.Trigger.MANUAL,
            dispatch=not eager,
        )
        self.stdout.write(f"analysis run #{run.pk} of {slug}: {run.status}")
        if eager:
            done = analysis_run_execute(run_id=run.pk, on_progress=self._progress, inline=True)
            if done is None:
                raise CommandError(f"run #{run.pk} could not start: another run is in progress")
        elif wait:
            self._follow(run.pk, timeout)
        else:
            return
        self._report(run_by_id(run.pk))

    def _progress(self, progress: int, step: str) -> None:
        self.stdout.write(f"{progress:3d}%  {step}")

    def _follow(self, run_id: int, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            run = run_by_id(run_id)
            if run is None:
                raise CommandError(f"run #{run_id} disappeared")
            if (run.status, run.progress) != last:
                last = (run.status, run.progress)
                self._progress(run.progress, run.status)
            if run.is_finished:
                return
            time.sleep(1)
        raise CommandError(f"run #{run_id} did not finish within {timeout} s")

    def _report(self, run: AnalysisRun | None) -> None:
        if run is None or run.status != AnalysisRun.Status.DONE:
            error = run.error if run else "gone"
            raise CommandError(f"analysis failed: {error}")
        counts = run.counts
        rate = counts.get("valid_rate")
        shown = "-" if rate is None else f"{rate:.2%}"
        self.stdout.write(
            self.style.SUCCESS(
                f"done: {counts.get('collected', 0)} collected, {counts.get('valid', 0)} valid "
                f"({shown}), {counts.get('invalid', 0)} invalid, {counts.get('flagged', 0)} "
                f"flagged"
            )
        )
