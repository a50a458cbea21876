"""Two-sample significance tests for the segment-vs-rest comparisons, in pure Python.

Promises:
- ``two_proportion_z_test`` is the two-sided two-proportion z-test with a pooled standard error;
  ``welch_t_test`` is Welch's unequal-variance t-test, two-sided, with Welch–Satterthwaite
  degrees of freedom. Both agree with scipy (``norm.sf``, ``ttest_ind(equal_var=False)``) to
  1e-9 (tests/analysis/test_stats.py).
- A test that cannot be computed never returns NaN or infinity and never raises: it returns a
  ``TestResult`` with ``p=None`` and a ``reason`` code (``REASONS`` says what each means).
- No third-party code: the normal tail comes from ``math.erfc``, Student's t from the
  regularized incomplete beta function (Lentz's continued fraction), with the log-beta of large
  arguments taken from Stirling's series so that it stays accurate for a million responses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# reason code → what it means (pages translate the codes; the English is for logs and docs)
REASONS = {
    "empty_group": "one of the groups has no responses",
    "too_few": "one of the groups has fewer than 2 responses (no variance)",
    "no_variance": "both groups have zero variance",
    "all_or_none": "the pooled share is 0 or 1 (everyone or no one chose it)",
}

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITERATIONS = 100_000
_STIRLING_FROM = 10.0


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
    return math.erfc(abs(z) / math.sqrt(2.0))


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` > 0 degrees of freedom.

    It is I_x(df/2, 1/2) with x = df / (df + t²); 1 − x is formed as t² / (df + t²), not by
    subtraction, so small p-values keep their precision.
    """
    if df <= 0 or math.isnan(df) or math.isnan(t):
        raise ValueError(f"need df > 0 and a number t, got t={t!r}, df={df!r}")
    if math.isinf(t):
        return 0.0
    t2 = t * t
    return _incomplete_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` > 0 degrees of freedom."""
    tail = t_two_sided_p(t, df) / 2.0
    return tail if t < 0 else 1.0 - tail


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if a <= 0 or b <= 0 or not 0.0 <= x <= 1.0:
        raise ValueError(f"need a, b > 0 and 0 <= x <= 1, got a={a!r}, b={b!r}, x={x!r}")
    return _incomplete_beta(a, b, x, 1.0 - x)


def _incomplete_beta(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) where y = 1 − x is given as accurately as the caller knows it."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    # The continued fraction converges fast below this point; above it, use the symmetry
    # I_x(a, b) = 1 − I_{1−x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0):
        return _front(a, b, x, y) * _continued_fraction(a, b, x) / a
    return 1.0 - _front(b, a, y, x) * _continued_fraction(b, a, y) / b


def _front(a: float, b: float, x: float, y: float) -> float:
    log_x = math.log1p(-y) if x > 0.5 else math.log(x)
    log_y = math.log1p(-x) if y > 0.5 else math.log(y)
    return math.exp(a * log_x + b * log_y - log_beta(a, b))


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) by the modified Lentz method (Numerical Recipes)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITERATIONS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def log_beta(a: float, b: float) -> float:
    """ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), accurate when one argument is huge."""
    small, large = min(a, b), max(a, b)
    if large < _STIRLING_FROM:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # ln Γ(large) − ln Γ(large + small) from Stirling's series: subtracting two lgamma values
    # of ~1e7 each would lose eight digits.
    ratio = (
        -small * math.log(large)
        - (large + small - 0.5) * math.log1p(small / large)
        + small
        + _stirling_tail(large)
        - _stirling_tail(large + small)
    )
    return math.lgamma(small) + ratio


def _stirling_tail(z: float) -> float:
    """ln Γ(z) − [(z − ½) ln z − z + ½ ln 2π], to ~1e-12 for z >= 10."""
    z2 = z * z
    return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * z2)) / z2) / z2) / z


def two_proportion_z_test(*, x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Two-sided z-test of x1/n1 against x2/n2 with the pooled standard error.

    Not computed (p None) when a group is empty or the pooled share is 0 or 1.
    """
    if n1 <= 0 or n2 <= 0:
        return _not_computed("empty_group")
    pooled = (x1 + x2) / (n1 + n2)
    if x1 + x2 == 0 or x1 + x2 == n1 + n2:
        return _not_computed("all_or_none")
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (x1 / n1 - x2 / n2) / se
    return TestResult(statistic=z, p=normal_two_sided_p(z))


def welch_t_test(
    *, n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float
) -> TestResult:
    """Welch's two-sided t-test from each group's n, mean and sample variance (n − 1).

    Not computed (p None) when a group has fewer than 2 values or both variances are 0.
    """
    if n1 < 2 or n2 < 2:
        return _not_computed("empty_group" if min(n1, n2) == 0 else "too_few")
    se1, se2 = var1 / n1, var2 / n2
    if se1 + se2 <= 0.0:
        return _not_computed("no_variance")
    t = (mean1 - mean2) / math.sqrt(se1 + se2)
    df = (se1 + se2) ** 2 / (se1 * se1 / (n1 - 1) + se2 * se2 / (n2 - 1))
    return TestResult(statistic=t, p=t_two_sided_p(t, df), df=df)
