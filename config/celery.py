"""The Celery app: settings from ``CELERY_*`` in config/settings.py, tasks from each app's
``tasks`` module, and the beat schedule."""

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("wenji")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def add_beat_schedule(sender: Celery, **kwargs: Any) -> None:
    """Periodic tasks; read from settings only once Celery reads its configuration."""
    from django.conf import settings

    sender.add_periodic_task(
        settings.ANALYSIS_SCHEDULE_MINUTES * 60.0,
        sender.signature("analysis.catch_up"),
        name="analysis.catch_up",
    )
    sender.add_periodic_task(
        float(settings.ANALYSIS_REAP_SECONDS),
        sender.signature("analysis.reap"),
        name="analysis.reap",
    )
    # Drops identities past each questionnaire's identity_retention_days (survey/tasks.py).
    sender.add_periodic_task(
        3600.0, sender.signature("survey.expire_identities"), name="survey.expire_identities"
    )
    # Deletes export files past EXPORT_RETENTION_HOURS (exports/tasks.py).
    sender.add_periodic_task(
        3600.0, sender.signature("analysis.export_expire"), name="analysis.export_expire"
    )
