"""The drafted Chinese report of the calibrated demo states the seed report's findings.

The demo's 2,299 responses (generated as ``./wenji up`` does, calibrated to
shared/reference/report-figures.md) are analysed once for the module; the draft of that results
document must state each finding listed below: the same rankings and, within the demo's
calibration tolerance (shares 3 points, scores 0.1), the same numbers, and call significant
what the seed calls significant. The expected figures are typed from report-figures.md.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation

from analysis.services.report import Collection, report_draft
from tests.demo.test_calibration import SCORE, SHARE, results  # noqa: F401  (module fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def zh(results) -> dict[str, str]:  # noqa: F811
    """The Chinese draft of the demo's results, finding key → sentence."""
    with translation.override("zh-hans"):
        draft = report_draft(
            results,
            language="zh-hans",
            collection=Collection(
                first="2020-03-01", last="2020-03-20", skipped=frozenset({"Q17"})
            ),
        )
    return {finding.key: finding.text for finding in draft.findings()}


def shares_of(text: str) -> list[float]:
    return [float(found) / 100 for found in re.findall(r"(\d+\.\d\d)%", text)]


def points_of(text: str) -> list[float]:
    return [float(found) for found in re.findall(r"(\d+\.\d\d) 分", text)]


def labels_in_order(text: str) -> list[str]:
    return re.findall(r"“([^”]+)”", text)


def test_sample_and_valid_rate(zh):
    assert "回收问卷 2299 份" in zh["method:collection"]
    assert shares_of(zh["method:valid"])[0] == pytest.approx(0.9194, abs=SHARE)


def test_q1_leading_answer_is_fully_satisfied(zh):
    text = zh["question:Q1"]
    assert text.startswith("选择最多的是“完全满足自己的需求，超出期待”")
    assert shares_of(text)[:2] == pytest.approx([0.4916, 0.3947], abs=SHARE)


def test_q5_items_ranked_by_mean_ease_highest_design_lowest(zh):
    text = zh["question:Q5:means"]
    ranked = labels_in_order(text)
    assert ranked[0] == "学习便捷度" and ranked[-1] == "设计创新度"
    assert points_of(text)[0] == pytest.approx(3.40, abs=SCORE)
    assert points_of(text)[-1] == pytest.approx(3.32, abs=SCORE)


def test_q6_top_two_shares_ranked_like_the_seed(zh):
    seed = [0.8799, 0.8665, 0.8652, 0.8455, 0.8399, 0.8349]
    assert shares_of(zh["question:Q6:top2"]) == pytest.approx(seed, abs=SHARE)


def test_q3_usage_modes_and_the_usage_score(zh):
    text = zh["question:Q3"]
    assert text.startswith("选择最多的是“积极发表意见，与所有人交流”")
    assert shares_of(text)[0] == pytest.approx(0.4874, abs=SHARE)
    assert points_of(text)[-1] == pytest.approx(4.01, abs=SCORE)


def test_usage_score_by_age_best_first(zh):
    text = zh["banner:D2:score:usage_effect"]
    ranked = [label for label in labels_in_order(text) if "岁" in label]
    assert ranked[:3] == ["21-30岁", "31-40岁", "20岁及以下"]
    assert points_of(text)[:3] == pytest.approx([4.11, 4.00, 3.94], abs=SCORE)


def test_segment_sizes(zh):
    assert shares_of(zh["segment:active:size"])[0] == pytest.approx(0.2493, abs=SHARE)
    assert shares_of(zh["segment:passive:size"])[0] == pytest.approx(0.0597, abs=SHARE)
    assert shares_of(zh["segment:trend_sceptic:size"])[0] == pytest.approx(0.0562, abs=SHARE)
    assert shares_of(zh["segment:agree_but_return:size"])[0] == pytest.approx(0.1749, abs=SHARE)


def test_active_participants_are_significantly_more_often_from_the_capital(zh):
    text = zh["segment:active:option:D4:1"]
    assert "“积极参与者”中“直辖市/省会城市”（D4）的比例显著更高" in text
    segment, _rest, overall = shares_of(text)
    assert segment == pytest.approx(0.5211, abs=SHARE)
    assert overall == pytest.approx(0.4291, abs=SHARE)


def test_active_profile_more_male_and_more_party_workers(zh):
    male = shares_of(zh["segment:active:option:D1:1"])
    assert [male[0], male[2]] == pytest.approx([0.7324, 0.6742], abs=SHARE)
    workers = shares_of(zh["segment:active:option:D5:1"])
    assert [workers[0], workers[2]] == pytest.approx([0.9268, 0.8736], abs=SHARE)


def test_active_participants_post_actively_far_more_often(zh):
    text = zh["segment:active:option:Q3:1"]
    assert "显著更高" in text
    segment, _rest, overall = shares_of(text)
    assert (segment, overall) == pytest.approx((0.7183, 0.4874), abs=SHARE)


def test_usage_scores_of_the_active_passive_and_sceptics(zh):
    assert "显著高于其余受访者" in zh["segment:active:score:usage_effect"]
    assert points_of(zh["segment:active:score:usage_effect"])[0] == pytest.approx(4.39, abs=SCORE)
    assert "显著低于其余受访者" in zh["segment:passive:score:usage_effect"]
    assert points_of(zh["segment:passive:score:usage_effect"])[0] == pytest.approx(3.54, abs=SCORE)
    sceptics = zh["segment:trend_sceptic:score:usage_effect"]
    assert "显著低于" in sceptics and points_of(sceptics)[0] == pytest.approx(3.39, abs=SCORE)
    help_score = zh["segment:trend_sceptic:score:help"]
    assert "显著低于" in help_score and points_of(help_score)[0] == pytest.approx(2.73, abs=SCORE)


def test_the_active_segment_s_top_phone_factor_is_speed(zh):
    text = zh["segment:active:leading:Q8"]
    assert labels_in_order(text)[1].startswith("网速/页面加载速度")
    assert shares_of(text)[0] == pytest.approx(0.4620, abs=SHARE)


def test_the_passive_segment_puts_privacy_and_compulsion_first(zh):
    text = zh["segment:passive:leading:Q8"]
    first = labels_in_order(text)[1:3]
    assert any(label.startswith("是否需要填写涉及个人隐私") for label in first)
    assert any(label.startswith("单位是否强制要求") for label in first)
    assert shares_of(text)[0] == pytest.approx(0.4824, abs=SHARE)


def test_trend_and_incentives_lead_like_the_seed(zh):
    trend = zh["question:Q14"]
    assert trend.startswith("选择最多的是“完全赞同，符合时代潮流”")
    assert shares_of(trend)[:3] == pytest.approx([0.6341, 0.3097, 0.0471], abs=SHARE)
    incentives = zh["question:Q16"]
    assert incentives.startswith("选择最多的是“物质奖励")
    assert shares_of(incentives)[:3] == pytest.approx([0.5442, 0.4586, 0.4537], abs=SHARE)


def test_nothing_called_significant_that_the_letters_do_not_mark(zh, results):  # noqa: F811
    """Every banner score sentence says "significant" exactly when the run's letters say so."""
    scores: dict[str, Any] = {score["code"]: score for score in results["scores"]}
    for key, text in zh.items():
        if not key.startswith("banner:") or ":score:" not in key:
            continue
        banner, code = key.split(":")[1], key.split(":")[3]
        lettered = any(
            cell.get("mean_letters")
            for column, cell in scores[code]["by"].items()
            if column.startswith(f"{banner}=")
        )
        assert ("显著高于" in text) == lettered, text
        assert ("均不显著" in text) == (not lettered), text


def test_the_attention_check_is_not_reported(zh):
    assert not any(key.startswith("question:Q17") for key in zh)
