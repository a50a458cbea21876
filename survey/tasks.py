"""Survey's periodic tasks (the beat schedule is in config/celery.py)."""

from __future__ import annotations

from celery import shared_task

from survey.services.forget import identities_expire


@shared_task(name="survey.expire_identities", ignore_result=True)
def expire_identities() -> dict[str, int]:
    """Apply every questionnaire's identity retention period (survey.services.forget)."""
    return identities_expire()
