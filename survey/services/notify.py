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
    """Send ``analysis.new_data`` at most once per debounce window per questionnaire."""
    key = f"analysis-new-data:{questionnaire_id}"
    _send(
        NEW_DATA_TASK,
        questionnaire_id,
        first=lambda: cache.add(key, 1, timeout=settings.ANALYSIS_DEBOUNCE_SECONDS),
    )


def definition_changed_signal(questionnaire_id: int) -> None:
    """Send ``analysis.definition_changed`` (call it on commit). Not debounced: edits are rare
    and the analysis keeps at most one run queued per questionnaire anyway."""
    _send(DEFINITION_CHANGED_TASK, questionnaire_id, first=lambda: True)


def _send(task: str, questionnaire_id: int, *, first: Callable[[], bool]) -> None:
    """Send ``task`` when ``first()`` says so; a broker or cache that is down is logged, never
    raised (the scheduled catch-up runs the analysis anyway)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No worker: analysing inline would make every submission wait for a full run.
        # Runs are started by hand, by the demo, or by `manage.py analysis_run`.
        return
    try:
        if first():
            current_app.send_task(task, args=[questionnaire_id], retry=False)
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning(
            "analysis trigger for questionnaire %s missed (%s); the scheduled catch-up will run it",
            questionnaire_id,
            exc.__class__.__name__,
        )
