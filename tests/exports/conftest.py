"""Fixtures of the export tests (users and API clients: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Export files go to a temporary MEDIA_ROOT; jobs run in-process (no broker)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings.MEDIA_ROOT


@pytest.fixture
def requested(media, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """``export_request`` whose job runs when the request's transaction commits (as in
    production with Celery eager); gives back the Export as it is afterwards."""
    from exports.services import export_request

    def request(**kwargs: Any) -> Any:
        kwargs.setdefault("filters", {})
        with django_capture_on_commit_callbacks(execute=True):
            export = export_request(**kwargs)
        export.refresh_from_db()
        return export

    return request
