"""Reads of analysis runs. Lists never load the results documents (they can be megabytes)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min, QuerySet
from django.db.models.functions import TruncDate

from analysis.models import AnalysisRun
from survey.models import Questionnaire, Response, StatusChange

# Ordering that makes "latest" well defined even when two runs finish in the same instant.
_NEWEST_FINISHED = ("-finished_at", "-id")


def latest_successful_run(questionnaire: Questionnaire) -> AnalysisRun | None:
    """The newest done run of the questionnaire (with its results), or None. One query.

    This is what every reader shows: a failed or unfinished run never replaces it.
    """
    return (
        AnalysisRun.objects.filter(questionnaire=questionnaire, status=AnalysisRun.Status.DONE)
        .select_related("requested_by")
        .order_by(*_NEWEST_FINISHED)
        .first()
    )


def run_get(
    *, questionnaire: Questionnaire, run_id: int, results: bool = False
) -> AnalysisRun | None:
    """One run of the questionnaire, or None; its results document only when asked for."""
    runs = AnalysisRun.objects.filter(questionnaire=questionnaire, pk=run_id).select_related(
        "requested_by"
    )
    if not results:
        runs = runs.defer("results")
    return runs.first()


def run_list(*, questionnaire: Questionnaire) -> QuerySet[AnalysisRun]:
    """The questionnaire's runs, newest first, without their results documents."""
    return (
        AnalysisRun.objects.filter(questionnaire=questionnaire)
        .select_related("requested_by")
        .defer("results")
        .order_by("-created_at", "-id")
    )


def active_run(questionnaire: Questionnaire) -> AnalysisRun | None:
    """The running run of the questionnaire, else its queued one, else None."""
    return (
        AnalysisRun.objects.filter(
            questionnaire=questionnaire,
            status__in=[AnalysisRun.Status.RUNNING, AnalysisRun.Status.QUEUED],
        )
        .defer("results")
        .order_by("-status")  # "running" sorts after "queued"
        .first()
    )


def run_by_id(run_id: int) -> AnalysisRun | None:
    """A run without its results document (to poll its status), or None."""
    return (
        AnalysisRun.objects.defer("results")
        .select_related("questionnaire")
        .filter(pk=run_id)
        .first()
    )


def responses_per_day(questionnaire: Questionnaire, days: int) -> list[dict[str, Any]]:
    """``{"day", "count"}`` for the last ``days`` days with any response, oldest first: one
    grouped query on (questionnaire, submitted_at), whatever the number of responses."""
    rows = list(
        Response.objects.filter(questionnaire=questionnaire)
        .order_by()
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(count=Count("id"))
        .order_by("-day")[:days]
    )
    rows.reverse()
    return rows


def responses_per_channel(
    questionnaire: Questionnaire, last_response_id: int | None = None
) -> list[dict[str, Any]]:
    """``{"channel", "count"}`` per channel, the busiest first (up to ``last_response_id``
    when given): one grouped query."""
    rows = Response.objects.filter(questionnaire=questionnaire)
    if last_response_id is not None:
        rows = rows.filter(pk__lte=last_response_id)
    return list(
        rows.order_by().values("channel").annotate(count=Count("id")).order_by("-count", "channel")
    )


def collection_facts(
    questionnaire: Questionnaire, last_response_id: int | None
) -> tuple[Any, Any, list[str]]:
    """The first and last submission and the channels (busiest first) of the responses up to
    ``last_response_id`` (a run's): two queries on indexed columns."""
    rows = Response.objects.filter(questionnaire=questionnaire)
    if last_response_id is not None:
        rows = rows.filter(pk__lte=last_response_id)
    span = rows.order_by().aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    channels = responses_per_channel(questionnaire, last_response_id)
    return span["first"], span["last"], [row["channel"] for row in channels]


def responses_collected(questionnaire: Questionnaire) -> int:
    """Every response stored for the questionnaire, valid or not (one indexed count)."""
    return Response.objects.filter(questionnaire=questionnaire).count()


def response_get(*, questionnaire: Questionnaire, response_id: int) -> Response | None:
    """One response of the questionnaire (None for another questionnaire's or a missing id)."""
    return Response.objects.filter(questionnaire=questionnaire, pk=response_id).first()


def status_history(*, response: Response) -> list[StatusChange]:
    """The people's decisions on a response's status, newest first, with who made them."""
    return list(
        StatusChange.objects.filter(response=response)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")
    )
