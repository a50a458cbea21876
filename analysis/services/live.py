"""Live results: the partial aggregates of fixed ranges of response ids, kept between runs, so
that new data recomputes only the chunks it falls in.

    full run:     changes_clear → every chunk computed (chunk_ranges) → results_chunk_keep
    incremental:  response changes → the chunks they fall in → recomputed, stored → merged

Promises:
- A chunk is a fixed range of response ids: ``index * ANALYSIS_CHUNK_SIZE`` to
  ``(index + 1) * ANALYSIS_CHUNK_SIZE - 1``, so a response stays in its chunk for good and a
  new one falls in the newest. Chunks without responses are not stored.
- Every change to a response that the numbers can see (a submission, a status decision, a
  deletion) is recorded in the same transaction (``survey.models.ResponseChange``).
  ``results_refresh`` takes the recorded changes and recomputes their chunks in one
  transaction: a change committed while it ran stays recorded and is taken next time, so none
  is missed, and a refresh that fails takes none.
- The merged partial, and the validity counts each chunk also keeps, equal exactly those of
  every chunk computed afresh (integer sums; tests check it over random sequences of
  submissions, status decisions and deletions). When they cannot be trusted — no complete set
  of chunks, chunks of another definition or chunk size, or a number of responses that
  disagrees with the database's — ``results_refresh`` says so (None) and the caller runs a
  full run instead.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analysis.models import ResultsChunk
from analysis.services.aggregate import aggregate_chunk, analysis_plan, merge_partials
from survey.models import Response, ResponseChange
from survey.services.validity import validity_counts


def chunk_range(index: int) -> tuple[int, int]:
    """The inclusive id range of chunk ``index``."""
    size = settings.ANALYSIS_CHUNK_SIZE
    return index * size, (index + 1) * size - 1


def chunk_ranges(*, questionnaire_id: int) -> list[tuple[int, int]]:
    """The id ranges of the chunks that hold the questionnaire's responses, in order."""
    size = settings.ANALYSIS_CHUNK_SIZE
    indexes = (
        Response.objects.filter(questionnaire_id=questionnaire_id)
        .annotate(chunk=F("id") / size)  # integer division, in the database
        .values_list("chunk", flat=True)
        .distinct()
        .order_by("chunk")
    )
    return [chunk_range(index) for index in indexes]


def changes_clear(*, questionnaire_id: int) -> None:
    """Forget the recorded changes and the stored chunks: a full run is about to read
    everything (and stores the chunks it computes when it is done)."""
    with transaction.atomic():
        ResponseChange.objects.filter(questionnaire_id=questionnaire_id).delete()
        ResultsChunk.objects.filter(questionnaire_id=questionnaire_id).delete()


def results_chunk_keep(*, questionnaire_id: int, partial: dict[str, Any]) -> None:
    """Keep a chunk's partial (it knows its ``low_id``) for the next refresh; a chunk no
    response is left in is not kept."""
    size = settings.ANALYSIS_CHUNK_SIZE
    index = partial["low_id"] // size
    if not partial["validity"]["collected"]:
        ResultsChunk.objects.filter(questionnaire_id=questionnaire_id, index=index).delete()
        return
    ResultsChunk.objects.update_or_create(
        questionnaire_id=questionnaire_id,
        index=index,
        defaults={"size": size, "data": partial, "computed_at": timezone.now()},
    )


def chunk_partial(*, questionnaire_id: int, low_id: int, high_id: int) -> dict[str, Any]:
    """One chunk's partial, labelled with its range (so it can be stored by index), with the
    validity counts of every response in it (``validity``, summed across chunks)."""
    partial = aggregate_chunk(questionnaire_id=questionnaire_id, low_id=low_id, high_id=high_id)
    responses = Response.objects.filter(
        questionnaire_id=questionnaire_id, id__gte=low_id, id__lte=high_id
    )
    return {**partial, "low_id": low_id, "high_id": high_id, "validity": validity_counts(responses)}


def results_refresh(*, questionnaire_id: int) -> tuple[dict[str, Any], dict[str, int]] | None:
    """Recompute the chunks that changed since the stored ones were computed, store them, and
    return the merge of every chunk's partial and the sum of their validity counts; None when
    the stored chunks cannot be used (see the module docstring: the caller runs a full run).

    One transaction that sees one snapshot of the data (REPEATABLE READ on PostgreSQL): the
    changes taken, the chunks recomputed and the count of responses the merge is checked
    against all agree, however many submissions commit meanwhile."""
    size = settings.ANALYSIS_CHUNK_SIZE
    stored = ResultsChunk.objects.filter(questionnaire_id=questionnaire_id)
    # Inside a caller's transaction (a test's) its snapshot rules: the level is set only when
    # this transaction is the outermost.
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        definition = analysis_plan(questionnaire_id=questionnaire_id).definition()
        kept = stored.values_list("size", "data__definition")
        if any(chunk != (size, definition) for chunk in kept):
            return None  # computed under another chunk size or definition
        taken = list(
            ResponseChange.objects.filter(questionnaire_id=questionnaire_id).values_list(
                "id", "response_id"
            )
        )
        for index in sorted({response_id // size for _pk, response_id in taken}):
            low, high = chunk_range(index)
            part = chunk_partial(questionnaire_id=questionnaire_id, low_id=low, high_id=high)
            results_chunk_keep(questionnaire_id=questionnaire_id, partial=part)
        ResponseChange.objects.filter(pk__in=[pk for pk, _response in taken]).delete()
        merged = merge_partials([])
        counts: dict[str, int] = {}
        for part in stored.order_by("index").values_list("data", flat=True).iterator():
            merged = merge_partials([merged, part])
            for key, value in part["validity"].items():
                counts[key] = counts.get(key, 0) + value
        collected = Response.objects.filter(questionnaire_id=questionnaire_id).count()
    if counts.get("collected", 0) != collected:
        return None  # a change no service recorded, or chunks a failed full run cleared
    return merged, counts
