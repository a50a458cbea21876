"""Helpers shared by the analysis-jobs tests (runs, triggers, API, worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from config.celery import app as celery_app
from survey.interchange import load_definition
from survey.models import Questionnaire, Response
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from tests.analysis.generate import generate_responses
from tests.conftest import EXAMPLE_DEFINITION


@dataclass
class SentTasks:
    """Tasks "sent to the broker" during a test, in order, as (name, args, kwargs)."""

    calls: list[tuple[str, list, dict]] = field(default_factory=list)
    countdowns: list[float | None] = field(default_factory=list)  # each call's, in order

    def named(self, name: str) -> list[list]:
        return [args for sent, args, _kwargs in self.calls if sent == name]

    def clear(self) -> None:
        self.calls.clear()
        self.countdowns.clear()


@pytest.fixture
def eager(settings):
    """No broker (a laptop): runs execute in this process."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def sent(settings, monkeypatch) -> SentTasks:
    """A broker that records what is sent to it, and nothing runs by itself."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    record = SentTasks()

    def send_task(name: str, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        record.calls.append((name, list(args or []), dict(kwargs or {})))
        record.countdowns.append(options.get("countdown"))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return record


def submit(questionnaire: Questionnaire, count: int, seed: int = 1) -> list[Response]:
    """``count`` random, valid-shaped responses through ``response_submit`` (seeded)."""
    return generate_responses(questionnaire=questionnaire, count=count, seed=seed)


def another_questionnaire(slug: str) -> Questionnaire:
    """A second questionnaire: the reference definition under another slug, open."""
    definition = load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))
    definition["slug"] = slug
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))
