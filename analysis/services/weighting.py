"""Weights: raking the counted responses (valid or flagged) to the definition's target margins.

Promises:
- ``weights_recompute(questionnaire)`` sets ``Response.weight`` for every counted response of a
  questionnaire whose definition has ``weights`` (None for the others and when it has none)
  and returns the diagnostics the run records: iterations, whether it converged, Kish's design
  effect and effective sample size, the smallest and largest weight, the share of responses
  whose weight was trimmed, and per margin the target, unweighted and weighted shares.
- Raking is iterative proportional fitting by ``ipfn`` over the table of the margin questions'
  answers (respondents who gave the same answers get the same weight, so the table is the
  exact and fast form of raking each respondent). Respondents who did not answer a margin
  question, or chose an option the margin leaves out (a hidden one), are kept at their share
  for that margin: the targets apply to those who answered.
- Weights average 1 over the counted responses. With ``trim``, weights beyond ``min``/``max``
  times the mean are capped and the table raked again, until both hold (the margins within
  0.01%) or 20 rounds have passed: then the bounds win and the fit says it did not converge.
- ``weights: {from: file}``: the weights imported by ``manage.py import_weights``
  (``survey.services.given_weights``), scaled to mean 1 over the counted responses; a counted
  response without one is refused in words, and no weights are set.
- A margin that cannot be reached (an option with a target share nobody chose) is refused:
  no weights are set and ``error`` names the margin and option in words.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
from django.db.models import Count, F, Max, Min, Q, Sum
from django.db.models.fields.json import KT
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ipfn import ipfn

from survey.expressions import canonical_code
from survey.labels import label_text
from survey.models import Option, Questionnaire, Response
from survey.selectors_responses import answer_combinations
from survey.weights_checks import DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE

REST = None  # the category of respondents a margin does not cover
TRIM_ROUNDS = 20
TRIM_TOLERANCE = 1e-4  # capped weights are kept when every margin is this close (relative)


class WeightingImpossible(ValueError):
    """The margins cannot be reached with these responses; the message says which."""


def _counted(questionnaire: Questionnaire):
    return Response.objects.filter(questionnaire=questionnaire).exclude(
        status=Response.Status.INVALID
    )


def _answered(codes: list[str], values: tuple[str | None, ...]) -> dict[str, Any]:
    """Lookups for the responses that gave ``values`` to ``codes`` (see ``_combinations``)."""
    lookups: dict[str, Any] = {}
    for index, value in enumerate(values):
        if value is None:
            lookups[f"a{index}__isnull"] = True
        else:
            lookups[f"a{index}"] = value
    return lookups


def rake(
    counts: np.ndarray,
    targets: list[np.ndarray],
    *,
    tolerance: float,
    max_iterations: int,
    trim: dict[str, float] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Cell weights (a weight per respondent of each cell of ``counts``) whose weighted totals
    meet ``targets`` (one 1-D array per axis), trimmed to ``trim`` times the mean weight."""
    dimensions = [[axis] for axis in range(counts.ndim)]
    occupied = counts > 0
    base = counts.astype("float64")
    iterations, converged, trimmed = 0, False, np.zeros(counts.shape, dtype=bool)
    low = (trim or {}).get("min")
    high = (trim or {}).get("max")
    for _round in range(TRIM_ROUNDS if trim else 1):
        with contextlib.redirect_stdout(io.StringIO()):  # ipfn prints its outcome
            fitted, ok, steps = ipfn.ipfn(
                base.copy(),
                [t.astype("float64") for t in targets],
                dimensions,
                convergence_rate=tolerance,
                max_iteration=max_iterations,
                verbose=2,
            ).iteration()
        iterations += len(steps)
        converged = bool(ok)
        weights = np.divide(fitted, counts, out=np.zeros_like(fitted), where=occupied)
        if not trim:
            break
        outside = _outside(weights, counts, low, high)
        if not outside.any():
            break
        trimmed |= outside
        weights = _clip(weights, counts, low, high)
        if _margin_error(weights * counts, targets) <= TRIM_TOLERANCE:
            break  # capped, and the margins still hold
        base = counts * weights
    else:
        # The bounds and the margins cannot both hold: the bounds win (the margins'
        # diagnostics then show how far each is off), and the fit is not converged.
        converged = False
    return weights, {
        "iterations": iterations,
        "converged": converged,
        "trimmed_cells": trimmed,
    }


def _margin_error(table: np.ndarray, targets: list[np.ndarray]) -> float:
    """The largest relative difference of ``table``'s margins from ``targets``."""
    worst = 0.0
    for axis, target in enumerate(targets):
        sums = table.sum(axis=tuple(j for j in range(table.ndim) if j != axis))
        wanted = target > 0
        worst = max(worst, float(np.max(np.abs(sums[wanted] / target[wanted] - 1), initial=0)))
    return worst


def _bounds(weights: np.ndarray, counts: np.ndarray, low: float | None, high: float | None):
    mean = (weights * counts).sum() / counts.sum()
    return (low * mean if low else 0.0), (high * mean if high else np.inf)


def _outside(weights, counts, low, high) -> np.ndarray:
    floor, cap = _bounds(weights, counts, low, high)
    return (counts > 0) & ((weights < floor * (1 - 1e-9)) | (weights > cap * (1 + 1e-9)))


def _clip(weights, counts, low, high) -> np.ndarray:
    """``weights`` within ``low``/``high`` times their mean (capping moves the mean: repeated
    until it holds)."""
    for _step in range(100):
        floor, cap = _bounds(weights, counts, low, high)
        clipped = np.clip(weights, floor, cap)
        if np.allclose(clipped, weights, rtol=1e-12, atol=0):
            break
        weights = clipped
    return weights


def weights_recompute(*, questionnaire: Questionnaire) -> dict[str, Any] | None:
    """Set the counted responses' weights from the definition's margins; the diagnostics,
    or None when the questionnaire is not weighted."""
    spec = questionnaire.weights or {}
    responses = Response.objects.filter(questionnaire=questionnaire)
    if spec.get("from") == "file":
        return _given(questionnaire, responses)
    if not spec.get("margins"):
        responses.filter(weight__isnull=False).update(weight=None)
        return None
    margins = {
        code: {canonical_code(option): float(share) for option, share in shares.items()}
        for code, shares in spec["margins"].items()
    }
    codes = list(margins)
    combinations = answer_combinations(_counted(questionnaire), codes)
    try:
        weights_by_key, diagnostics = _weights(questionnaire, margins, combinations, spec)
    except WeightingImpossible as refused:
        responses.filter(weight__isnull=False).update(weight=None)
        return {"error": str(refused)}
    responses.filter(status=Response.Status.INVALID, weight__isnull=False).update(weight=None)
    counted = _counted(questionnaire).alias(
        **{f"a{index}": KT(f"answers__{code}") for index, code in enumerate(codes)}
    )
    for values, weight in weights_by_key.items():  # one UPDATE per combination of answers
        counted.filter(**_answered(codes, values)).exclude(weight=weight).update(weight=weight)
    return diagnostics


def _given(questionnaire: Questionnaire, responses) -> dict[str, Any]:
    """Weights imported from a file, scaled to mean 1 over the counted responses."""
    counted = _counted(questionnaire)
    given = counted.aggregate(  # one pass in the database, whatever the number of responses
        missing=Count("id", filter=Q(given_weight__isnull=True)),
        n=Count("given_weight"),
        total=Sum("given_weight"),
        squares=Sum(F("given_weight") * F("given_weight")),
        low=Min("given_weight"),
        high=Max("given_weight"),
    )
    missing, n, total = given["missing"], given["n"], given["total"] or 0
    if missing or not n or total <= 0:
        responses.filter(weight__isnull=False).update(weight=None)
        if missing:
            message = ngettext(
                "%(count)d valid response has no weight in the imported file.",
                "%(count)d valid responses have no weight in the imported file.",
                missing,
            ) % {"count": missing}
        else:
            message = _("No weights were imported (manage.py import_weights).")
        return {"method": "file", "error": message}
    scale = n / total
    responses.filter(status=Response.Status.INVALID, weight__isnull=False).update(weight=None)
    counted.update(weight=F("given_weight") * scale)
    deff = n * given["squares"] / total**2  # Kish's, which the scale does not change
    return {
        "method": "file",
        "n": n,
        "iterations": 0,
        "converged": True,
        "design_effect": round(deff, 6),
        "effective_n": round(n / deff, 3),
        "min": round(given["low"] * scale, 6),
        "max": round(given["high"] * scale, 6),
        "trimmed_share": 0.0,
        "margins": {},
    }


def _weights(
    questionnaire: Questionnaire,
    margins: dict[str, dict[str, float]],
    combinations: dict[tuple[str | None, ...], int],
    spec: dict[str, Any],
) -> tuple[dict[tuple[str | None, ...], float], dict[str, Any]]:
    codes = list(margins)
    # Each axis: the margin's options in order, then the rest (not answered, or left out).
    axes = [[*shares, REST] for shares in margins.values()]
    position = [{category: i for i, category in enumerate(axis)} for axis in axes]
    counts = np.zeros([len(axis) for axis in axes])
    cell_of: dict[tuple[str | None, ...], tuple[int, ...]] = {}
    for values, n in combinations.items():
        cell = tuple(position[i].get(value, position[i][REST]) for i, value in enumerate(values))
        counts[cell] += n
        cell_of[values] = cell
    total = counts.sum()
    if total == 0:
        raise WeightingImpossible(_("There are no valid responses to weight."))
    targets = []
    for i, code in enumerate(codes):
        sums = counts.sum(axis=tuple(j for j in range(counts.ndim) if j != i))
        answered = total - sums[-1]
        for j, (option, share) in enumerate(margins[code].items()):
            if share > 0 and sums[j] == 0:
                raise WeightingImpossible(
                    _(
                        "weights.margins.%(code)s.%(option)s: nobody among the valid responses "
                        "chose %(label)s, so its share %(share)s cannot be reached"
                    )
                    % {
                        "code": code,
                        "option": option,
                        "label": _option_label(questionnaire, code, option),
                        "share": f"{share:g}",
                    }
                )
        target = np.array([answered * share for share in margins[code].values()] + [sums[-1]])
        targets.append(target)
    weights, fit = rake(
        counts,
        targets,
        tolerance=float(spec.get("tolerance", DEFAULT_TOLERANCE)),
        max_iterations=int(spec.get("max_iterations", DEFAULT_MAX_ITERATIONS)),
        trim=spec.get("trim"),
    )
    weights = weights * total / (weights * counts).sum()  # mean 1 over the responses
    n = total
    sum_w = (weights * counts).sum()
    sum_w2 = (weights**2 * counts).sum()
    deff = float(n * sum_w2 / sum_w**2)
    occupied = counts > 0
    report_margins = {}
    for i, code in enumerate(codes):
        other = tuple(j for j in range(counts.ndim) if j != i)
        unweighted = counts.sum(axis=other)
        weighted = (weights * counts).sum(axis=other)
        answered_n, answered_w = unweighted[:-1].sum(), weighted[:-1].sum()
        report_margins[code] = {
            option: {
                "target": share,
                "unweighted": float(unweighted[j] / answered_n) if answered_n else None,
                "weighted": float(weighted[j] / answered_w) if answered_w else None,
            }
            for j, (option, share) in enumerate(margins[code].items())
        }
    by_key = {key: round(float(weights[cell]), 10) for key, cell in cell_of.items()}
    return by_key, {
        "method": "raking",
        "n": int(n),
        "iterations": fit["iterations"],
        "converged": fit["converged"],
        "design_effect": round(deff, 6),
        "effective_n": round(float(n / deff), 3),
        "min": round(float(weights[occupied].min()), 6),
        "max": round(float(weights[occupied].max()), 6),
        "trimmed_share": round(float(counts[fit["trimmed_cells"]].sum() / n), 6),
        "margins": report_margins,
    }


def _option_label(questionnaire: Questionnaire, code: str, option: str) -> str:
    label = (
        Option.objects.filter(
            question__questionnaire=questionnaire, question__code=code, code=option
        )
        .values_list("label", flat=True)
        .first()
    )
    return f"{option} {label_text(label)}".strip() if label else option
