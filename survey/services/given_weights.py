"""Weights supplied by file: each response's weight as computed elsewhere (a statistician's
own raking, a panel's design weights), for questionnaires whose definition says
``weights: {from: file}``.

Promises:
- ``given_weights_read(text)`` reads CSV text with the columns ``response_id`` and ``weight``
  (a header row, any order, other columns ignored; UTF-8 with or without a BOM) into
  ``{response id: weight}``, or raises ``GivenWeightsInvalid`` listing every bad row by its
  line number: an id that is not a whole number, a weight that is not a finite number of at
  least 0, an id given twice.
- ``given_weights_import`` stores them on the questionnaire's responses, all or nothing: ids
  that are not this questionnaire's responses are refused (the first ten named, and how many
  in all). Responses the file does not name lose any weight given before. An import asks
  for an analysis run (on commit), which scales the given weights of the counted responses
  to mean 1 (shares, means and tests do not depend on the scale) into ``Response.weight``.
"""

from __future__ import annotations

import csv
import io
import math
from functools import partial

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from survey.models import Questionnaire, Response
from survey.services.notify import definition_changed_signal
from wenji.errors import DomainError

SHOWN = 10


class GivenWeightsInvalid(DomainError):
    code = "invalid_weights"

    def __init__(self, lines: list[str] | str) -> None:
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines), {"file": self.lines})


def given_weights_read(text: str) -> dict[int, float]:
    """``{response id: weight}`` from CSV text; ``GivenWeightsInvalid`` names each bad line."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    if "response_id" not in columns or "weight" not in columns:
        raise GivenWeightsInvalid(
            [_("The file needs a header row with the columns response_id and weight.")]
        )
    weights: dict[int, float] = {}
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        raw_id = (row.get(columns["response_id"]) or "").strip()
        raw_weight = (row.get(columns["weight"]) or "").strip()
        if not raw_id.isdigit():
            problems.append(
                _("line %(line)d: response_id %(value)s is not a whole number")
                % {"line": line, "value": repr(raw_id)}
            )
            continue
        try:
            weight = float(raw_weight)
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or weight < 0:
            problems.append(
                _("line %(line)d: weight %(value)s is not a number of at least 0")
                % {"line": line, "value": repr(raw_weight)}
            )
            continue
        if int(raw_id) in weights:
            problems.append(
                _("line %(line)d: response %(id)s is given twice") % {"line": line, "id": raw_id}
            )
            continue
        weights[int(raw_id)] = weight
    if problems:
        raise GivenWeightsInvalid(problems)
    return weights


def given_weights_import(*, questionnaire: Questionnaire, weights: dict[int, float]) -> int:
    """Store ``weights`` on the questionnaire's responses (all or nothing); how many."""
    responses = Response.objects.filter(questionnaire=questionnaire)
    known = set(responses.filter(pk__in=list(weights)).values_list("pk", flat=True))
    unknown = sorted(set(weights) - known)
    if unknown:
        shown = ", ".join(str(pk) for pk in unknown[:SHOWN])
        raise GivenWeightsInvalid(
            [
                ngettext(
                    "%(count)d response id is not a response of %(slug)s: %(ids)s",
                    "%(count)d response ids are not responses of %(slug)s: %(ids)s",
                    len(unknown),
                )
                % {"count": len(unknown), "slug": questionnaire.slug, "ids": shown}
            ]
        )
    with transaction.atomic():
        responses.exclude(pk__in=list(weights)).filter(given_weight__isnull=False).update(
            given_weight=None
        )
        rows = [Response(pk=pk, given_weight=weight) for pk, weight in weights.items()]
        Response.objects.bulk_update(rows, ["given_weight"], batch_size=2000)
        # The figures depend on the weights as on the definition: a full run, not new data.
        transaction.on_commit(partial(definition_changed_signal, questionnaire.pk))
    return len(weights)
