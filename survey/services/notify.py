"""Telling the analysis that a questionnaire has new data, without importing it.

``survey`` never imports ``analysis``: it sends a task by name after the transaction commits.
A broker or cache that is down must never fail a submission: the missed signal is logged
and the analysis' scheduled catch-up run finds the data anyway.
"""

from __future__ import annotations

import logging

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
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No worker: analysing inline would make every submission wait for a full run.
        # Runs are started by hand, by the demo, or by `manage.py analysis_run`.
        return
    key = f"analysis-new-data:{questionnaire_id}"
    try:
        if not cache.add(key, 1, timeout=settings.ANALYSIS_DEBOUNCE_SECONDS):
            return
        current_app.send_task(NEW_DATA_TASK, args=[questionnaire_id], retry=False)
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning(
            "analysis trigger for questionnaire %s missed (%s); the scheduled catch-up will run it",
            questionnaire_id,
            exc.__class__.__name__,
        )


def definition_changed_signal(questionnaire_id: int) -> None:
    """Send ``analysis.definition_changed`` (call it on commit). Not debounced: edits are rare
    and the analysis keeps at most one run queued per questionnaire anyway."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # as above: no worker; `manage.py analysis_run` recomputes by hand
    try:
        current_app.send_task(DEFINITION_CHANGED_TASK, args=[questionnaire_id], retry=False)
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning(
            "analysis trigger for questionnaire %s missed (%s); the scheduled catch-up will run it",
            questionnaire_id,
            exc.__class__.__name__,
        )
