"""System checks of the keys that protect personal data (run by ``manage.py check --deploy``,
which the web service runs before it migrates and serves).

An IPv4 address hashed with a weak ``IDENTITY_HASH_KEY`` can be found again by hashing all
2³² addresses; a short ``SECRET_KEY`` lets sessions be forged. Both must be at least 32
characters, and different (one leaked must not give away the other).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

MIN_KEY_LENGTH = 32
GENERATE = 'python3 -c "import secrets; print(secrets.token_urlsafe(50))"'


@register(Tags.security, deploy=True)
def check_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    for number, name in enumerate(("SECRET_KEY", "IDENTITY_HASH_KEY"), start=1):
        if len(getattr(settings, name)) < MIN_KEY_LENGTH:
            errors.append(
                Error(
                    f"{name} is shorter than {MIN_KEY_LENGTH} characters.",
                    hint=f"Generate one with: {GENERATE}",
                    id=f"wenji.E00{number}",
                )
            )
    if settings.SECRET_KEY == settings.IDENTITY_HASH_KEY:
        errors.append(
            Error(
                "SECRET_KEY and IDENTITY_HASH_KEY are the same.",
                hint="Give each its own random value.",
                id="wenji.E003",
            )
        )
    return errors
