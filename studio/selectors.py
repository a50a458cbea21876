"""What the studio's list shows: each questionnaire the user may see, with its counts, in one
query."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from survey.models import DefinitionDraft, Questionnaire, Response


def studio_questionnaires(*, user: AbstractBaseUser, admin: bool) -> QuerySet[Questionnaire]:
    """Every questionnaire for an admin, the granted ones for anyone else, newest first, each
    with ``total`` and ``valid`` responses, ``last_response`` and ``drafted``."""
    questionnaires = Questionnaire.objects.all()
    if not admin:
        questionnaires = questionnaires.filter(access_grants__user=user)
    return questionnaires.annotate(
        total=Count("responses"),
        valid=Count("responses", filter=~Q(responses__status=Response.Status.INVALID)),
        last_response=Max("responses__submitted_at"),
        drafted=Exists(DefinitionDraft.objects.filter(questionnaire=OuterRef("pk"))),
    ).order_by("-created_at", "-pk")
