"""The lookup every page and API call of one questionnaire starts with (``wenji.access``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from survey.models import Questionnaire, QuestionnaireAccess
from wenji.access import questionnaire_for_user

pytestmark = pytest.mark.django_db


def _fields(questionnaire: Questionnaire) -> dict:
    return {f.attname: getattr(questionnaire, f.attname) for f in Questionnaire._meta.fields}


def test_the_questionnaire_is_read_as_the_orm_reads_it(ipb, make_user):
    """Every field, JSON, times and numbers included, equals what the ORM reads."""
    now = timezone.now().replace(microsecond=123456)
    Questionnaire.objects.filter(pk=ipb.pk).update(
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=9),
        response_limit=2299,
        brand={"colour": "#1f6feb", "logo": "", "redirect": ""},
        weights={"margins": {"q1": {"1": 0.5, "2": 0.5}}},
    )
    user = make_user("c1", "collector")
    QuestionnaireAccess.objects.create(user=user, questionnaire=ipb)
    expected = _fields(Questionnaire.objects.get(pk=ipb.pk))
    granted = questionnaire_for_user(slug=ipb.slug, user=user, admin=False)
    as_admin = questionnaire_for_user(slug=ipb.slug, user=None, admin=True)
    assert _fields(granted) == expected
    assert _fields(as_admin) == expected
    assert granted.closes_at.tzinfo is not None and isinstance(granted.brand, dict)
    assert not granted._state.adding and granted._state.db == "default"
    granted.title = "改过的标题"  # an instance that saves like any other
    granted.save(update_fields=["title"])
    assert Questionnaire.objects.get(pk=ipb.pk).title == "改过的标题"


def test_only_a_granted_user_or_an_admin_finds_it(ipb, make_user):
    user = make_user("c1", "collector")
    assert questionnaire_for_user(slug=ipb.slug, user=user, admin=False) is None
    assert questionnaire_for_user(slug=ipb.slug, user=None, admin=False) is None
    assert questionnaire_for_user(slug="no-such-slug", user=None, admin=True) is None
    QuestionnaireAccess.objects.create(user=user, questionnaire=ipb)
    assert questionnaire_for_user(slug=ipb.slug, user=user, admin=False).pk == ipb.pk
    assert questionnaire_for_user(slug="no-such-slug", user=user, admin=False) is None
