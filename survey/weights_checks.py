"""The rulebook's judgement of a definition's ``weights`` (called by ``survey.interchange_checks``).

    weights:
      margins:                      # target shares of single-choice questions' options
        D1: {1: 0.62, 2: 0.38}
        D2: {1: 0.05, 2: 0.30, 3: 0.35, 4: 0.20, 5: 0.10}
      trim: {min: 0.3, max: 3}      # optional: weights kept within these multiples of the mean
      max_iterations: 100           # optional (default 100)
      tolerance: 0.000001           # optional (default 1e-6): largest relative margin error

    weights:
      from: file                    # each response's weight imported from a file instead
                                    # (manage.py import_weights; survey.services.given_weights)

Each margin gives a share for every option the question offers (hidden options may be left
out: nobody chooses them any more), each share from 0 to 1, summing to 1 (within 0.001).
Whether every option with a share has respondents is known only when the weights are
computed (``survey.services.weights``); that refusal is recorded by the analysis run.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import canonical_code
from survey.interchange_problems import MISSING, Checker, display, kinds

WEIGHTS_KEYS = ("margins", "trim", "max_iterations", "tolerance", "from")
SUM_TOLERANCE = 0.001
DEFAULT_MAX_ITERATIONS = 100
DEFAULT_TOLERANCE = 1e-6


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_weights(checker: Checker, weights: Any) -> None:
    if weights is MISSING or not checker.mapping("weights", weights):
        return
    checker.keys("weights", weights, WEIGHTS_KEYS)
    source = weights.get("from", MISSING)
    if source is not MISSING:
        if source != "file":
            message = _("%(value)s is not file") % {"value": display(source)}
            checker.add("weights.from", "not_allowed", message, source)
        elif set(weights) != {"from"}:
            message = _("weights from a file take no margins, trimming or iterations")
            checker.add("weights", "file_and_margins", message)
        return
    margins = weights.get("margins", MISSING)
    if margins is MISSING:
        checker.missing("weights.margins", _("missing (target shares per question)"))
    elif checker.mapping("weights.margins", margins):
        if not margins:
            checker.add("weights.margins", "empty", _("must name at least one question"))
        for code, shares in margins.items():
            _check_margin(checker, f"weights.margins.{code}", code, shares)
    trim = weights.get("trim", MISSING)
    if trim is not MISSING and checker.mapping("weights.trim", trim):
        checker.keys("weights.trim", trim, ("min", "max"))
        low, high = trim.get("min", MISSING), trim.get("max", MISSING)
        if low is not MISSING and not (_number(low) and 0 < low < 1):
            message = _("must be a number between 0 and 1 (a multiple of the mean weight)")
            checker.add("weights.trim.min", "not_allowed", message, low)
        if high is not MISSING and not (_number(high) and 1 < high <= 100):
            message = _("must be a number above 1 and at most 100 (a multiple of the mean weight)")
            checker.add("weights.trim.max", "not_allowed", message, high)
    iterations = weights.get("max_iterations", MISSING)
    if iterations is not MISSING and not (
        isinstance(iterations, int)
        and not isinstance(iterations, bool)
        and 1 <= iterations <= 10000
    ):
        message = _("must be a whole number from 1 to 10000, not %(kind)s") % kinds(iterations)
        checker.add("weights.max_iterations", "not_allowed", message, iterations)
    tolerance = weights.get("tolerance", MISSING)
    if tolerance is not MISSING and not (_number(tolerance) and 0 < tolerance < 0.1):
        message = _("must be a number above 0 and below 0.1")
        checker.add("weights.tolerance", "not_allowed", message, tolerance)


def _check_margin(checker: Checker, path: str, code: Any, shares: Any) -> None:
    if code in checker.invalid_codes:
        return
    spec = checker.specs.get(code) if isinstance(code, str) else None
    if spec is None:
        message = _("unknown question %(value)s") % {"value": display(code)}
        checker.add(path, "unknown_reference", message, code)
        return
    if spec.type != "single":
        message = _("%(code)s is a %(type)s question; margins are of single-choice questions")
        checker.add(path, "margin_not_single", message % {"code": code, "type": spec.type}, code)
        return
    if not checker.mapping(path, shares):
        return
    offered = _offered(checker, code)
    given: dict[str, Any] = {}
    for option, share in shares.items():
        try:
            key = canonical_code(option)
        except TypeError:
            key = None
        if key is None or key not in spec.options:
            message = _("%(code)s has no option %(value)s") % {"code": code, "value": option}
            checker.add(f"{path}.{option}", "unknown_option", message, option)
            continue
        if not _number(share) or not 0 <= share <= 1:
            message = _("must be a share from 0 to 1, not %(value)s") % {"value": display(share)}
            checker.add(f"{path}.{option}", "not_allowed", message, share)
            continue
        given[key] = share
    missing = [option for option in offered if option not in given]
    if missing:
        message = _("gives no share for option(s) %(options)s of %(code)s") % {
            "options": ", ".join(missing),
            "code": code,
        }
        checker.add(path, "margin_incomplete", message)
    elif given and abs(sum(given.values()) - 1) > SUM_TOLERANCE:
        message = _("the shares sum to %(sum)s; they must sum to 1") % {
            "sum": f"{sum(given.values()):.4g}"
        }
        checker.add(path, "margin_sum", message)


def _offered(checker: Checker, code: str) -> list[str]:
    """The question's options respondents can still choose, in order."""
    question = next((q for _p, q in checker.questions if q.get("code") == code), {})
    return [
        canonical_code(o["code"])
        for o in question.get("options") or []
        if isinstance(o, dict) and isinstance(o.get("code"), int | str) and not o.get("hidden")
    ]
