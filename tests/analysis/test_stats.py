"""The tests of analysis.services.stats: from sufficient statistics, they must give what scipy
gives on the raw data, and the corrections what statsmodels gives."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from analysis.services.stats import (
    adjusted,
    normal_two_sided_p,
    t_two_sided_p,
    two_proportion_z_test,
    welch_t_test,
)

TOLERANCE = 1e-9
DFS = [0.3, 0.5, 1, 1.5, 2, 3, 4.7, 7, 10, 25, 30, 99.5, 300, 1e3, 1e4, 1e5, 1e6, 1e7]
TS = [0.0, 1e-6, 0.01, 0.1, 0.5, 1.0, 1.645, 1.96, 2.5, 3.3, 5.0, 8.0, 20.0, 100.0, 1e4]


@pytest.mark.parametrize("df", DFS)
def test_t_p_values_match_scipy_over_small_and_large_degrees_of_freedom(df):
    for t in TS:
        for sign in (1, -1):
            assert t_two_sided_p(sign * t, df) == pytest.approx(
                2 * scipy_stats.t.sf(t, df), abs=TOLERANCE
            )


def test_small_p_values_keep_their_relative_precision():
    for df, t in [(5, 30.0), (40, 12.0), (1e4, 9.0), (3.5, 200.0)]:
        expected = 2 * scipy_stats.t.sf(t, df)
        assert t_two_sided_p(t, df) == pytest.approx(expected, rel=1e-8)


def test_normal_p_value_matches_scipy():
    for z in [0, 0.1, 1, 1.96, 3, 6, 10, 30]:
        assert normal_two_sided_p(z) == pytest.approx(2 * scipy_stats.norm.sf(z), abs=1e-15)
        assert normal_two_sided_p(-z) == normal_two_sided_p(z)


def _scipy_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, 2 * scipy_stats.norm.sf(abs(z))


def test_two_proportion_z_test_matches_a_written_out_scipy_version():
    rng = random.Random(3)
    for _ in range(2000):
        n1, n2 = rng.randint(1, 5000), rng.randint(1, 200_000)
        x1, x2 = rng.randint(0, n1), rng.randint(0, n2)
        if x1 + x2 in (0, n1 + n2):
            continue
        result = two_proportion_z_test(x1=x1, n1=n1, x2=x2, n2=n2)
        z, p = _scipy_z(x1, n1, x2, n2)
        assert result.statistic == pytest.approx(z, rel=1e-12, abs=1e-12)
        assert result.p == pytest.approx(p, abs=TOLERANCE)
        assert result.reason is None


def test_welch_matches_scipy_with_unequal_sizes_and_variances():
    rng = np.random.default_rng(4)
    for _ in range(500):
        n1, n2 = int(rng.integers(2, 60)), int(rng.integers(2, 3000))
        a = rng.normal(rng.uniform(-2, 2), rng.uniform(0.01, 5), n1)
        b = rng.normal(rng.uniform(-2, 2), rng.uniform(0.01, 5), n2)
        expected = scipy_stats.ttest_ind(a, b, equal_var=False)
        result = welch_t_test(
            n1=n1, mean1=a.mean(), var1=a.var(ddof=1), n2=n2, mean2=b.mean(), var2=b.var(ddof=1)
        )
        assert result.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
        assert result.df == pytest.approx(expected.df, rel=1e-9)
        assert result.p == pytest.approx(expected.pvalue, abs=TOLERANCE)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_welch_with_one_group_without_variance_is_still_computed():
    a, b = np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 4.0, 4.5])
    expected = scipy_stats.ttest_ind(a, b, equal_var=False)
    result = welch_t_test(n1=3, mean1=3.0, var1=0.0, n2=4, mean2=b.mean(), var2=b.var(ddof=1))
    assert result.p == pytest.approx(expected.pvalue, abs=TOLERANCE)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"x1": 0, "n1": 0, "x2": 3, "n2": 10}, "empty_group"),
        ({"x1": 2, "n1": 5, "x2": 0, "n2": 0}, "empty_group"),
        ({"x1": 0, "n1": 5, "x2": 0, "n2": 10}, "all_or_none"),
        ({"x1": 5, "n1": 5, "x2": 10, "n2": 10}, "all_or_none"),
    ],
)
def test_z_test_that_cannot_be_computed_says_why(arguments, reason):
    result = two_proportion_z_test(**arguments)
    assert (result.statistic, result.p, result.reason) == (None, None, reason)


def test_z_test_with_a_group_of_one_is_computed():
    result = two_proportion_z_test(x1=1, n1=1, x2=3, n2=10)
    assert result.p == pytest.approx(_scipy_z(1, 1, 3, 10)[1], abs=TOLERANCE)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"n1": 0, "mean1": 0.0, "var1": 0.0, "n2": 5, "mean2": 1.0, "var2": 1.0}, "empty_group"),
        ({"n1": 1, "mean1": 4.0, "var1": 0.0, "n2": 5, "mean2": 1.0, "var2": 1.0}, "too_few"),
        ({"n1": 5, "mean1": 4.0, "var1": 1.0, "n2": 1, "mean2": 1.0, "var2": 0.0}, "too_few"),
        ({"n1": 3, "mean1": 4.0, "var1": 0.0, "n2": 4, "mean2": 1.0, "var2": 0.0}, "no_variance"),
    ],
)
def test_welch_that_cannot_be_computed_says_why(arguments, reason):
    result = welch_t_test(**arguments)
    assert (result.statistic, result.p, result.df, result.reason) == (None, None, None, reason)


def test_bad_arguments_are_refused_not_turned_into_nan():
    with pytest.raises(ValueError, match="df"):
        t_two_sided_p(1.0, 0)
    assert t_two_sided_p(math.inf, 5) == 0.0


def test_holm_by_hand():
    # Holm: sorted p × (m − rank), made monotone, capped at 1.
    assert adjusted([0.01, 0.04, 0.03, 0.5], "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert adjusted([0.01, 0.04, 0.03, 0.5], "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 1])
    assert adjusted([0.01, 0.04], "none") == [0.01, 0.04]


def test_corrections_match_statsmodels_and_skip_tests_not_computed():
    rng = random.Random(5)
    for _ in range(200):
        ps = [rng.random() ** 3 for _ in range(rng.randint(2, 12))]
        with_gaps = [None, *ps[:1], None, *ps[1:]]
        for method in ("holm", "bonferroni"):
            expected = list(multipletests(ps, method=method)[1])
            got = adjusted(with_gaps, method)
            assert got[0] is None and got[2] is None
            assert [p for p in got if p is not None] == pytest.approx(expected, abs=1e-15)


def test_a_family_of_one_is_not_corrected_and_unknown_corrections_are_refused():
    assert adjusted([0.02, None], "holm") == [0.02, None]
    with pytest.raises(ValueError, match="unknown correction"):
        adjusted([0.1, 0.2], "sidak-ish")
