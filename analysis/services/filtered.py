"""Results over the responses a reader's filters select (the results page and API's filters).

Promises:
- ``filtered_results`` is the results document of a run, computed by the same aggregation and
  tables (``aggregate_chunk`` with ``restrict``, then ``tables_build``) over the responses
  the filters (``survey.filters``) select, the valid ones unless ``status`` asks for others
  (clean, flagged, invalid, all): no second implementation of any figure.
  Its ``validity`` block counts the selected responses by status and broken rule, and it
  carries ``filters`` (what was asked) and ``base.all_valid`` (the valid responses without the
  filters).
- It reads the answers, unlike the page without filters: above
  ``settings.RESULTS_FILTER_MAX_RESPONSES`` selected responses it refuses
  (``FilteredTooLarge``) rather than make a page wait; the unfiltered run covers those.
- A result is cached for ``FILTER_CACHE_SECONDS`` under the questionnaire, its definition,
  the latest run, the number and last id of its responses and the filters, so switching
  banners on a filtered page does not compute again; a status decided by a person shows after
  at most that long.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.utils.translation import gettext as _

from analysis.selectors import latest_successful_run
from analysis.services.aggregate import aggregate_chunk, merge_partials
from analysis.services.tables import tables_build
from survey.filters import STATUS_ALL, STATUS_VALID, ResponseFilters, responses_filtered
from survey.models import Questionnaire, Response
from wenji.errors import DomainError

FILTER_CACHE_SECONDS = 300
# The filters a reader may set on the results (by default the valid responses are the base).
PAGE_FILTERS = ("status", "submitted_from", "submitted_to", "channel", "segment", "answer")


class FilteredTooLarge(DomainError):
    code = "filtered_too_large"


def filtered_results(*, questionnaire: Questionnaire, filters: ResponseFilters) -> dict[str, Any]:
    """The results document over the responses ``filters`` select (see the promises).

    Raises ``survey.filters.FiltersInvalid`` for a filter the questionnaire cannot use, and
    ``FilteredTooLarge`` above the live limit.
    """
    everyone = responses_filtered(
        questionnaire=questionnaire, filters=replace(filters, status=STATUS_ALL)
    )
    key = _cache_key(questionnaire, filters)
    cached = cache.get(key)
    if cached is not None:
        return cached
    counts = _counts(everyone)
    limit = settings.RESULTS_FILTER_MAX_RESPONSES
    selected_count = _selected_count(counts, filters.status)
    if selected_count > limit:
        message = _(
            "These filters select %(count)s responses; the page computes at most "
            "%(limit)s live. Narrow the filters, or read the unfiltered results."
        ) % {"count": f"{selected_count:,}", "limit": f"{limit:,}"}
        raise FilteredTooLarge(message)
    selected = responses_filtered(questionnaire=questionnaire, filters=filters)
    bounds = selected.aggregate(low=Min("id"), high=Max("id"))
    partials = []
    if bounds["low"] is not None:
        partials.append(
            aggregate_chunk(
                questionnaire_id=questionnaire.pk,
                low_id=bounds["low"],
                high_id=bounds["high"],
                restrict=selected,
            )
        )
    document = tables_build(
        questionnaire_id=questionnaire.pk, merged=merge_partials(partials), validity=counts
    )
    document["filters"] = filters.as_dict()
    document["base"]["all_valid"] = (
        Response.objects.filter(questionnaire=questionnaire)
        .exclude(status=Response.Status.INVALID)
        .count()
    )
    cache.set(key, document, FILTER_CACHE_SECONDS)
    return document


def _selected_count(counts: dict[str, Any], status: str) -> int:
    """How many of the counted responses the status filter keeps."""
    return {
        STATUS_VALID: counts["valid"],
        "clean": counts["valid"] - counts["flagged"],
        "flagged": counts["flagged"],
        "invalid": counts["invalid"],
        STATUS_ALL: counts["collected"],
    }[status]


def _counts(responses: Any) -> dict[str, Any]:
    """The validity summary of the selected responses, in one grouped query."""
    invalid = Q(status=Response.Status.INVALID)
    columns = {
        "collected": Count("id"),
        "invalid": Count("id", filter=invalid),
        "flagged": Count("id", filter=Q(status=Response.Status.FLAGGED)),
    }
    for kind, field in Response.REASON_FIELDS.items():
        columns[f"invalid_{kind}"] = Count("id", filter=invalid & Q(**{field: True}))
        columns[f"flagged_{kind}"] = Count(
            "id", filter=Q(status=Response.Status.FLAGGED, **{field: True})
        )
    row = responses.order_by().aggregate(**columns)
    collected, invalid_count = row["collected"], row["invalid"]
    return {
        "collected": collected,
        "valid": collected - invalid_count,
        "invalid": invalid_count,
        "flagged": row["flagged"],
        "valid_rate": (collected - invalid_count) / collected if collected else None,
        "invalid_by_reason": {k: row[f"invalid_{k}"] for k in Response.REASON_FIELDS},
        "flagged_by_reason": {k: row[f"flagged_{k}"] for k in Response.REASON_FIELDS},
    }


def _cache_key(questionnaire: Questionnaire, filters: ResponseFilters) -> str:
    run = latest_successful_run(questionnaire)
    responses = Response.objects.filter(questionnaire=questionnaire).aggregate(
        count=Count("id"), last=Max("id")
    )
    described = json.dumps(
        [
            questionnaire.pk,
            questionnaire.definition_version,
            run.pk if run else None,
            responses["count"],
            responses["last"],
            filters.as_dict(),
        ],
        sort_keys=True,
    )
    return "wenji:filtered:" + hashlib.sha256(described.encode()).hexdigest()
