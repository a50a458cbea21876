"""``manage.py expire_identities``: apply each questionnaire's identity retention period now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from survey.services.forget import identities_expire


class Command(BaseCommand):
    help = (
        "Drop respondent identity and address hashes of responses older than their "
        "questionnaire's settings.identity_retention_days (the responses stay, anonymous)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        changed = identities_expire()
        if not changed:
            self.stdout.write("No identities were past their retention period.")
        for slug, count in changed.items():
            self.stdout.write(f"{slug}: {count} responses made anonymous")
