"""Reads behind the API: a questionnaire by its slug, and its responses (which ones a user may
see: ``wenji.access``); and how many responses gave each combination of answers to some
single-choice questions (quotas and weights count by it).

Every function here is a bounded number of queries whatever the number of rows: lists page
through an indexed ordering and related rows come with ``select_related``/``prefetch_related``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Prefetch, QuerySet
from django.db.models.fields.json import KT

from survey.models import Questionnaire, Response, StatusChange


def questionnaire_by_slug(*, slug: str) -> Questionnaire | None:
    return Questionnaire.objects.filter(slug=slug).first()


def response_list(
    *,
    questionnaire: Questionnaire,
    status: str | None = None,
    submitted_after: datetime | None = None,
    submitted_before: datetime | None = None,
) -> QuerySet[Response]:
    """The questionnaire's responses, newest first; ``status`` is the effective status (a
    person's decision when there is one), ``submitted_after`` is inclusive and
    ``submitted_before`` exclusive."""
    responses = Response.objects.filter(questionnaire=questionnaire)
    if status:
        responses = responses.filter(status=status)
    if submitted_after is not None:
        responses = responses.filter(submitted_at__gte=submitted_after)
    if submitted_before is not None:
        responses = responses.filter(submitted_at__lt=submitted_before)
    return responses.order_by("-submitted_at", "-id")


def response_get(*, questionnaire: Questionnaire, response_id: int) -> Response | None:
    """One response of the questionnaire with its status history (newest first), or None."""
    history = StatusChange.objects.select_related("changed_by").order_by("-changed_at", "-id")
    return (
        Response.objects.filter(questionnaire=questionnaire, pk=response_id)
        .prefetch_related(Prefetch("status_changes", queryset=history))
        .first()
    )


def answer_combinations(
    responses: QuerySet[Response], codes: list[str]
) -> dict[tuple[str | None, ...], int]:
    """How many of ``responses`` gave each combination of answers to the single-choice
    questions ``codes``: {(option code as text, or None when not answered, …): count}. One
    grouped query over the stored answers, whatever the number of responses."""
    keys = {f"a{index}": KT(f"answers__{code}") for index, code in enumerate(codes)}
    rows = responses.order_by().values(**keys).annotate(n=Count("id")).values_list(*keys, "n")
    return {
        tuple(None if value is None else str(value) for value in row[:-1]): row[-1] for row in rows
    }
