"""Telling the analysis that a questionnaire has new data, without importing it.

``survey`` never imports ``analysis``: it sends a task by name after the transaction commits.
A broker or cache that is down must never fail a submission: the missed signal is logged
and the analysis' scheduled catch-up run finds the data anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

NEW_DATA_TASK = "analysis.new_data"
DEFINITION_CHANGED_TASK = "analysis.definition_changed"


def new_data_signal(questionnaire_id: int) -> None:
    """Send ``analysis.new_data`` at once for the first new data of a debounce window, and at
    most one more, delayed to the window's end, for all that follows within it: every change
    is followed by a task that starts after it (never dropped), and a questionnaire taking
    hundreds of submissions a second sends two tasks per ``ANALYSIS_DEBOUNCE_SECONDS``."""
    window = settings.ANALYSIS_DEBOUNCE_SECONDS
    key = f"analysis-new-data:{questionnaire_id}"

    def delay() -> float | None:
        if cache.add(key, 1, timeout=window):
            return 0
        if cache.add(f"{key}:trailing", 1, timeout=window):
            # Half a second after its key is gone: what arrives while the key lives is always
            # before it, whatever the small difference between Redis's and a worker's clock.
            return window + 0.5
        return None  # a delayed task is on its way and starts after this change

    _send(NEW_DATA_TASK, questionnaire_id, delay=delay)


def definition_changed_signal(questionnaire_id: int) -> None:
    """Send ``analysis.definition_changed`` (call it on commit). Not debounced: edits are rare
    and the analysis keeps at most one run queued per questionnaire anyway."""
    _send(DEFINITION_CHANGED_TASK, questionnaire_id, delay=lambda: 0)


def _send(task: str, questionnaire_id: int, *, delay: Callable[[], float | None]) -> None:
    """Send ``task`` after ``delay()`` seconds, or not at all when it says None; a broker or
    cache that is down is logged, never raised (the scheduled catch-up runs the analysis)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No worker: analysing inline would make every submission wait for a full run.
        # Runs are started by hand, by the demo, or by `manage.py analysis_run`.
        return
    try:
        seconds = delay()
        if seconds is not None:
            current_app.send_task(
                task, args=[questionnaire_id], countdown=seconds or None, retry=False
            )
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning(
            "analysis trigger for questionnaire %s missed (%s); the scheduled catch-up will run it",
            questionnaire_id,
            exc.__class__.__name__,
        )
