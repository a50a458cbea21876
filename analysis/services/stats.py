"""Significance tests of the results tables, from sufficient statistics, with scipy and statsmodels.

Promises:
- ``two_proportion_z_test`` is the two-sided two-proportion z-test with a pooled standard error
  (the column-proportions test of banner tables); ``welch_t_test`` is Welch's unequal-variance
  t-test, two-sided, with Welch–Satterthwaite degrees of freedom (the column-means test). The
  tails come from ``scipy.stats`` (``norm.sf``, ``t.sf``); the tests are taken from counts, means
  and variances because the analysis never holds the individual answers
  (tests/analysis/test_stats.py checks them against ``scipy.stats.ttest_ind`` on raw data).
- ``adjusted`` corrects a family of p-values for multiple comparisons (``none``,
  ``bonferroni``, ``holm``), giving what ``statsmodels.stats.multitest.multipletests`` gives.
- A test that cannot be computed never returns NaN or infinity and never raises: it returns a
  ``TestResult`` with ``p=None`` and a ``reason`` code (``REASONS`` says what each means).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

# reason code → what it means (pages translate the codes; the English is for logs and docs)
REASONS = {
    "empty_group": "one of the groups has no responses",
    "too_few": "one of the groups has fewer than 2 responses (no variance)",
    "no_variance": "both groups have zero variance",
    "all_or_none": "the pooled share is 0 or 1 (everyone or no one chose it)",
}

# the corrections of a family of p-values (statsmodels' names for them)
CORRECTIONS = ("none", "bonferroni", "holm")
DEFAULT_CORRECTION = "holm"


@dataclass(frozen=True)
class TestResult:
    """A test's statistic, degrees of freedom (t only) and two-sided p, or why there are none."""

    statistic: float | None
    p: float | None
    df: float | None = None
    reason: str | None = None

    __test__ = False  # not a pytest test class


def _not_computed(reason: str) -> TestResult:
    return TestResult(statistic=None, p=None, df=None, reason=reason)


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return float(2.0 * scipy_stats.norm.sf(abs(z)))


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` > 0 degrees of freedom."""
    if not df > 0 or math.isnan(t):
        raise ValueError(f"need df > 0 and a number t, got t={t!r}, df={df!r}")
    return float(2.0 * scipy_stats.t.sf(abs(t), df))


def _z(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """The z statistic of ``two_proportion_z_test``, without its p."""
    if n1 <= 0 or n2 <= 0:
        return _not_computed("empty_group")
    if x1 + x2 == 0 or x1 + x2 == n1 + n2:
        return _not_computed("all_or_none")
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    return TestResult(statistic=(x1 / n1 - x2 / n2) / se, p=None)


def _welch(n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float) -> TestResult:
    """The t statistic and df of ``welch_t_test``, without its p."""
    if n1 < 2 or n2 < 2:
        return _not_computed("empty_group" if min(n1, n2) == 0 else "too_few")
    se1, se2 = var1 / n1, var2 / n2
    if se1 + se2 <= 0.0:
        return _not_computed("no_variance")
    t = (mean1 - mean2) / math.sqrt(se1 + se2)
    df = (se1 + se2) ** 2 / (se1 * se1 / (n1 - 1) + se2 * se2 / (n2 - 1))
    return TestResult(statistic=t, p=None, df=df)


def two_proportion_z_test(*, x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Two-sided z-test of x1/n1 against x2/n2 with the pooled standard error.

    Not computed (p None) when a group is empty or the pooled share is 0 or 1.
    """
    result = _z(x1, n1, x2, n2)
    if result.statistic is None:
        return result
    return TestResult(statistic=result.statistic, p=normal_two_sided_p(result.statistic))


def welch_t_test(
    *, n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float
) -> TestResult:
    """Welch's two-sided t-test from each group's n, mean and sample variance (n − 1).

    Not computed (p None) when a group has fewer than 2 values or both variances are 0.
    """
    result = _welch(n1, mean1, var1, n2, mean2, var2)
    if result.statistic is None or result.df is None:
        return result
    p = t_two_sided_p(result.statistic, result.df)
    return TestResult(statistic=result.statistic, p=p, df=result.df)


# --- significance letters of banner tables ---------------------------------------------------


@dataclass(frozen=True)
class Proportion:
    """One column's cell for the column-proportions test: count of n."""

    count: int
    n: int


@dataclass(frozen=True)
class Mean:
    """One column's cell for the column-means test: n, mean and sample variance."""

    n: int
    mean: float | None
    var: float | None


def column_letters(
    cells: Sequence[Proportion | Mean], *, letters: Sequence[str], alpha: float, correction: str
) -> list[list[str]]:
    """For each column, the letters of the columns it is significantly higher than.

    Every pair of columns is tested (z-test for ``Proportion`` cells, Welch for ``Mean``); the
    pairs of one row are one family, corrected by ``correction``; a pair is significant when
    its corrected p is below ``alpha``. Pairs that cannot be tested (an empty column, everyone
    or no one) take no part. This is the letters convention of SPSS Custom Tables.
    """
    if len(cells) != len(letters):
        raise ValueError("one letter per column")
    pairs, statistics, dfs = [], [], []
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            result = _pair(cells[i], cells[j])
            if result.statistic is not None:
                pairs.append((i, j))
                statistics.append(result.statistic)
                dfs.append(result.df)
    found: list[list[str]] = [[] for _ in cells]
    if not pairs:
        return found
    sizes = [abs(statistic) for statistic in statistics]
    if isinstance(cells[0], Proportion):
        tails = scipy_stats.norm.sf(sizes)
    else:
        tails = scipy_stats.t.sf(sizes, dfs)
    p_values = adjusted([float(2.0 * tail) for tail in tails], correction)
    for (i, j), p, statistic in zip(pairs, p_values, statistics, strict=True):
        if p is not None and p < alpha:
            higher, lower = (i, j) if statistic > 0 else (j, i)
            found[higher].append(letters[lower])
    return [sorted(column) for column in found]


def _pair(first: Proportion | Mean, second: Proportion | Mean) -> TestResult:
    if isinstance(first, Proportion) and isinstance(second, Proportion):
        return _z(first.count, first.n, second.count, second.n)
    if isinstance(first, Mean) and isinstance(second, Mean):
        if first.mean is None or second.mean is None:
            return _not_computed("empty_group")
        return _welch(
            first.n, first.mean, first.var or 0.0, second.n, second.mean, second.var or 0.0
        )
    raise TypeError("a row's cells are all proportions or all means")


def adjusted(p_values: Sequence[float | None], correction: str) -> list[float | None]:
    """The p-values of one family corrected by ``correction`` (a key of ``CORRECTIONS``).

    ``None`` (a test not computed) stays ``None`` and is not counted in the family. Adjusted
    p-values are capped at 1. Bonferroni: p × m. Holm: the i-th smallest p × (m − i + 1), made
    non-decreasing in the order of the p-values. The same numbers as statsmodels'
    ``multipletests`` (the tests hold it to that), written out because its Holm calls
    ``gc.collect()`` on every call (statsmodels PR #8671, unmerged): 18 ms a family here, and a
    run tests about a thousand families.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; one of {sorted(CORRECTIONS)}")
    computed = np.array([p for p in p_values if p is not None], dtype=float)
    m = len(computed)
    if correction == "none" or m < 2:
        return list(p_values)
    if correction == "bonferroni":
        corrected = np.minimum(computed * m, 1.0)
    else:
        order = np.argsort(computed, kind="stable")
        stepped = np.maximum.accumulate(computed[order] * np.arange(m, 0, -1))
        corrected = np.empty(m)
        corrected[order] = np.minimum(stepped, 1.0)
    values = iter(corrected.tolist())
    return [None if p is None else next(values) for p in p_values]
