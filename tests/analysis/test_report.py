"""The drafted report's sentence patterns (analysis.services.report), in Chinese and English.

Each test builds a small results document by hand, so every number a sentence states is known,
and checks the whole sentence: ties, one option, a question nobody answered, an empty segment,
differences that are and are not significant (never called a difference when they are not).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.utils import translation
from statsmodels.stats.proportion import proportion_effectsize

from analysis.services.report import Collection, Draft, cohens_h, report_draft

YES_NO = [
    {"code": "1", "label": {"zh-hans": "是", "en": "Yes"}},
    {"code": "2", "label": {"zh-hans": "否", "en": "No"}},
    {"code": "3", "label": {"zh-hans": "不确定", "en": "Maybe"}},
]


def single(code: str, shares: list[float], n: int = 8, **extra: Any) -> dict[str, Any]:
    options = YES_NO[: len(shares)]
    return {
        "code": code,
        "type": "single",
        "label": {"zh-hans": f"问题{code}", "en": f"Question {code}"},
        "options": options,
        "total": {
            "n": n,
            "options": {
                option["code"]: {"count": round(share * n), "share": share}
                for option, share in zip(options, shares, strict=True)
            },
            **extra,
        },
    }


def document(*questions: dict[str, Any], **parts: Any) -> dict[str, Any]:
    return {
        "format": "wenji-analysis/1",
        "significance": 0.05,
        "correction": "holm",
        "validity": {
            "collected": 10,
            "valid": 8,
            "invalid": 2,
            "flagged": 0,
            "valid_rate": 0.8,
            "invalid_by_reason": {"speeder": 2},
        },
        "base": {"valid": 8},
        "sections": [
            {
                "code": "A",
                "title": {"zh-hans": "甲部分", "en": "Part A"},
                "questions": [q["code"] for q in questions],
            }
        ],
        "banner": [],
        "questions": list(questions),
        "scores": [],
        "segments": [],
        "comparisons": [],
        **parts,
    }


def draft(doc: dict[str, Any], language: str, **collection: Any) -> Draft:
    with translation.override(language):
        return report_draft(doc, language=language, collection=Collection(**collection))


def texts(doc: dict[str, Any], language: str, prefix: str = "", **collection: Any) -> list[str]:
    return [
        f.text for f in draft(doc, language, **collection).findings() if f.key.startswith(prefix)
    ]


def one(doc: dict[str, Any], language: str, key: str) -> str:
    found = [f.text for f in draft(doc, language).findings() if f.key == key]
    assert len(found) == 1, [f.key for f in draft(doc, language).findings()]
    return found[0]


# --- questions ------------------------------------------------------------------------------


def test_a_single_question_names_the_leading_options_best_first():
    doc = document(single("S", [0.3, 0.5, 0.2]))
    assert one(doc, "en", "question:S") == (
        "The answer chosen most often was “No” (50.00%), followed by “Yes” (30.00%) and "
        "“Maybe” (20.00%) (8 respondents answered)."
    )
    assert one(doc, "zh-hans", "question:S") == (
        "选择最多的是“否”（50.00%），其次是“是”（30.00%）和“不确定”（20.00%）（共 8 人作答）。"
    )


def test_options_chosen_equally_often_are_named_together():
    doc = document(single("S", [0.4, 0.4, 0.2]))
    assert one(doc, "en", "question:S") == (
        "“Yes” and “No” were chosen equally often, 40.00% each, followed by “Maybe” (20.00%) "
        "(8 respondents answered)."
    )
    assert one(doc, "zh-hans", "question:S") == (
        "“是”和“否”并列最多，各占 40.00%，其次是“不确定”（20.00%）（共 8 人作答）。"
    )


def test_one_option_and_one_respondent_read_in_the_singular():
    doc = document(single("S", [1.0], n=1))
    assert one(doc, "en", "question:S") == (
        "The answer chosen most often was “Yes” (100.00%) (1 respondent answered)."
    )
    assert one(doc, "zh-hans", "question:S") == "选择最多的是“是”（100.00%）（共 1 人作答）。"


def test_a_question_nobody_answered_says_so():
    doc = document(single("S", [0.0, 0.0], n=0))
    assert one(doc, "en", "question:S") == "Nobody answered this question."
    assert one(doc, "zh-hans", "question:S") == "无人回答此题。"


def test_a_scored_question_adds_its_mean_in_points():
    doc = document(single("S", [0.5, 0.3, 0.2], mean=3.4))
    assert one(doc, "en", "question:S").endswith(" The mean score is 3.40.")
    assert one(doc, "zh-hans", "question:S").endswith("平均得分为 3.40 分。")


def matrix() -> dict[str, Any]:
    return {
        "code": "M",
        "type": "matrix",
        "label": {"zh-hans": "评价", "en": "Rating"},
        "scale": [
            {"code": "1", "label": {"zh-hans": "好", "en": "Good"}, "score": 2},
            {"code": "2", "label": {"zh-hans": "差", "en": "Bad"}, "score": 1},
        ],
        "items": [
            {"code": "a", "label": {"zh-hans": "内容", "en": "Content"}},
            {"code": "b", "label": {"zh-hans": "设计", "en": "Design"}},
        ],
        "top2": ["1", "2"],
        "total": {
            "items": {
                "a": {"n": 8, "mean": 1.25, "sd": 0.4, "top2": {"count": 2, "share": 0.25}},
                "b": {"n": 8, "mean": 1.75, "sd": 0.4, "top2": {"count": 6, "share": 0.75}},
            }
        },
    }


def test_a_matrix_ranks_its_items_by_mean_and_by_top_two_share():
    doc = document(matrix())
    assert one(doc, "zh-hans", "question:M:means") == (
        "各项平均得分从高到低依次为：“设计”（1.75 分）和“内容”（1.25 分）。"
    )
    assert one(doc, "en", "question:M:top2") == (
        "Share answering the top two points (Good/Bad), from high to low: “Design” (75.00%) "
        "and “Content” (25.00%)."
    )


def test_the_method_states_the_valid_rate_and_why_responses_were_set_aside():
    found = texts(
        document(single("S", [1.0])),
        "zh-hans",
        "method:",
        first="2020-03-01",
        last="2020-03-20",
        channels=("微信", "网页"),
    )
    assert found[0] == "本次调查于 2020-03-01 至 2020-03-20 通过微信和网页回收问卷 10 份。"
    assert found[1] == "其中有效问卷 8 份，有效率为 80.00%。"
    assert found[2] == "判为无效的问卷 2 份（答题过快 2 份）。"
    assert any("Holm" in text and "显著性水平为 0.05" in text for text in found)


# --- banner differences ---------------------------------------------------------------------


def banner_document(letters: list[str]) -> dict[str, Any]:
    """Gender (G) as a banner, a score and an option of question S cut by it."""
    gender = {
        "code": "G",
        "type": "single",
        "label": {"zh-hans": "性别", "en": "Gender"},
        "options": [
            {"code": "1", "label": {"zh-hans": "男", "en": "Male"}},
            {"code": "2", "label": {"zh-hans": "女", "en": "Female"}},
        ],
        "total": {"n": 200, "options": {"1": {"count": 100, "share": 0.5}}},
    }
    question = single("S", [0.4, 0.6], n=200)
    question["by"] = {
        "G=1": {"n": 100, "options": {"1": {"share": 0.30, "letters": []}}},
        "G=2": {"n": 100, "options": {"1": {"share": 0.50, "letters": letters}}},
    }
    entry = {
        "key": "G",
        "kind": "question",
        "label": gender["label"],
        "columns": [
            {"key": "G=1", "code": "1", "label": {"zh-hans": "男", "en": "Male"}, "letter": "A"},
            {"key": "G=2", "code": "2", "label": {"zh-hans": "女", "en": "Female"}, "letter": "B"},
        ],
    }
    score = {
        "code": "use",
        "label": {"zh-hans": "使用效果", "en": "Usage"},
        "total": {"n": 200, "mean": 4.0, "sd": 1.0},
        "by": {
            "G=1": {"n": 100, "mean": 3.92, "sd": 1.0, "mean_letters": []},
            "G=2": {"n": 100, "mean": 4.07, "sd": 1.0, "mean_letters": letters},
        },
    }
    return document(gender, question, banner=[entry], scores=[score])


def test_a_significant_banner_difference_is_worded_with_direction_and_size():
    doc = banner_document(["A"])
    assert one(doc, "en", "banner:G:score:use") == (
        "By Gender, “Usage” from high to low: “Female” (4.07) and “Male” (3.92). “Female” "
        "scores highest (4.07), significantly above “Male” (3.92)."
    )
    assert one(doc, "zh-hans", "banner:G:score:use") == (
        "按性别分组，“使用效果”得分从高到低依次为：“女”（4.07 分）和“男”（3.92 分）。"
        "“女”组得分最高（4.07 分），显著高于“男”（3.92 分）。"
    )
    assert one(doc, "zh-hans", "banner:G:option:S:1:B") == (
        "“女”组选择“是”（S）的比例（50.00%）显著高于“男”（30.00%）。"
    )


def test_a_difference_that_is_not_significant_is_never_called_one():
    doc = banner_document([])
    for language, word in (("en", "significantly"), ("zh-hans", "显著高于")):
        found = texts(doc, language, "banner:")
        assert not any(word in text for text in found), found
    assert one(doc, "en", "banner:G:score:use").endswith(
        "None of these differences is significant after the correction."
    )
    assert one(doc, "zh-hans", "banner:G:score:use").endswith("经校正后，各组之间的差异均不显著。")


# --- segments -------------------------------------------------------------------------------


def option_test(question: str, option: str, seg: float, rest: float, p: float) -> dict:
    return {
        "question": question,
        "option": option,
        "segment": {"n": 50, "share": seg},
        "rest": {"n": 150, "share": rest},
        "overall": {"n": 200, "share": (seg * 50 + rest * 150) / 200},
        "difference": seg - rest,
        "p": p,
        "significant": p < 0.05,
    }


def segment_document(n: int, tests: list[dict], correction: str = "holm", rule: str = "") -> dict:
    segment = {
        "code": "act",
        "label": {"zh-hans": "积极者", "en": "Active"},
        "rule": rule,
        "computed": True,
        "n": n,
        "share": n / 200,
    }
    comparison = {"segment": "act", "n": n, "rest_n": 200 - n, "options": tests, "scores": []}
    doc = document(
        single("S", [0.3, 0.5, 0.2], n=200),
        single("T", [0.5, 0.5], n=200),
        segments=[segment],
        comparisons=[comparison] if n else [],
    )
    doc["correction"] = correction
    return doc


def test_an_empty_segment_says_nobody_belongs_to_it():
    doc = segment_document(0, [])
    assert one(doc, "en", "segment:act:size") == "No valid respondent belongs to “Active”."
    assert one(doc, "zh-hans", "segment:act:size") == "没有有效受访者属于“积极者”。"


def test_a_segment_states_its_size_and_what_it_chose_differently():
    doc = segment_document(50, [option_test("S", "1", 0.7183, 0.4, 1e-9)])
    assert one(doc, "zh-hans", "segment:act:size") == "“积极者”共 50 人，占有效样本的 25.00%。"
    assert one(doc, "zh-hans", "segment:act:option:S:1") == (
        "“积极者”选择“是”（S）的比例显著更高：71.83%，其余受访者为 40.00%（全体 47.96%）。"
    )
    assert one(doc, "en", "segment:act:option:S:1") == (
        "“Active” chose “Yes” (S) significantly more often: 71.83% against 40.00% of the rest "
        "(the whole sample: 47.96%)."
    )


def test_a_segment_difference_must_survive_the_correction_to_be_told():
    # p = 0.03 is under 0.05 alone, but not once Holm corrects it over the segment's 3 tests
    tests = [
        option_test("S", "1", 0.50, 0.40, 0.03),
        option_test("T", "1", 0.45, 0.50, 0.60),
        option_test("T", "2", 0.55, 0.50, 0.60),
    ]
    held = [f.key for f in draft(segment_document(50, tests), "en").findings()]
    assert "segment:act:option:S:1" not in held
    uncorrected = [f.key for f in draft(segment_document(50, tests, "none"), "en").findings()]
    assert "segment:act:option:S:1" in uncorrected


def test_the_questions_that_define_a_segment_are_not_told_as_its_findings():
    tests = [option_test("S", "1", 1.0, 0.2, 1e-20)]
    keys = [f.key for f in draft(segment_document(50, tests, rule="S == 1"), "en").findings()]
    assert "segment:act:option:S:1" not in keys
    assert "segment:act:leading:S" not in keys


def test_a_segment_whose_first_choice_differs_from_everyone_s_is_told_ties_included():
    tests = [
        option_test("S", "1", 0.40, 0.45, 0.5),
        option_test("S", "2", 0.40, 0.55, 0.5),
        option_test("S", "3", 0.20, 0.00, 0.5),
    ]
    for test, overall in zip(tests, (0.3, 0.2, 0.5), strict=True):
        test["overall"]["share"] = overall  # everyone's first choice: Maybe
    text = one(segment_document(50, tests), "zh-hans", "segment:act:leading:S")
    assert text == (
        "在 S 上，“积极者”选择最多的是“是”和“否”（各占 40.00%），"
        "而全体受访者选择最多的是“不确定”（50.00%）。"
    )


# --- the whole draft ------------------------------------------------------------------------


def test_the_same_document_gives_the_same_draft_and_keys_are_unique():
    doc = banner_document(["A"])
    first, second = draft(doc, "zh-hans"), draft(copy.deepcopy(doc), "zh-hans")
    assert first == second
    keys = [f.key for f in first.findings()]
    assert len(keys) == len(set(keys))


def test_figures_change_with_the_numbers_and_keys_do_not():
    before = {f.key: f for f in draft(document(single("S", [0.3, 0.7])), "en").findings()}
    after = {f.key: f for f in draft(document(single("S", [0.35, 0.65])), "en").findings()}
    assert before.keys() == after.keys()
    assert before["question:S"].figures != after["question:S"].figures
    assert before["method:tests"].figures == after["method:tests"].figures


@pytest.mark.parametrize(("first", "second"), [(0.5, 0.5), (0.7183, 0.4874), (0.02, 0.3)])
def test_cohens_h_is_statsmodels_effect_size_of_two_proportions(first, second):
    assert cohens_h(first, second) == pytest.approx(proportion_effectsize(first, second))
