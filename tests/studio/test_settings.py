"""The studio's analysis settings: scores, segments, validity rules and the banner, saved
into the draft through the rulebook, each problem beside its field."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from survey.forms.labels import LabelField
from tests.studio.test_builder import admin, draft  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
URL = "/studio/ipb-survey/settings/"


def settings_data(response) -> dict[str, Any]:
    """The settings page as the browser would post it unchanged."""
    context = response.context
    data: dict[str, Any] = {"etag": context["state"].etag}
    formsets = [context["scores"], context["segments"]]
    for form in [context["rules"], *[f for fs in formsets for f in fs.forms]]:
        for bound in form:
            value = bound.value()
            widget = bound.field.widget
            if isinstance(bound.field, LabelField):
                for suffix, part in zip(
                    widget.widgets_names, widget.decompress(value), strict=True
                ):
                    data[f"{bound.html_name}{suffix}"] = part
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                data[bound.html_name] = list(value or [])
            elif value is not None:
                data[bound.html_name] = value
    for formset in formsets:
        data[f"{formset.prefix}-TOTAL_FORMS"] = len(formset.forms)
        data[f"{formset.prefix}-INITIAL_FORMS"] = formset.initial_form_count()
    return data


def test_unchanged_settings_save_the_same_analysis(ipb, admin):  # noqa: F811
    page = admin.get(URL)
    assert page.status_code == 200
    answer = admin.post(URL, settings_data(page))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    document = draft("ipb-survey")
    assert [s["code"] for s in document["scores"]] == [
        "usage_effect", "stage", "app_satisfaction", "help",
    ]  # fmt: skip
    assert document["segments"][0]["rule"] == "Q2.a >= 3 and Q2.b >= 3 and Q2.c >= 3 and Q2.d >= 3"
    assert document["validity"]["speeder"] == {
        "action": "invalidate",
        "below_fraction_of_median": 0.33,
    }
    assert document["analysis"]["banner"][-1] == "segment:trend_sceptic"


def test_a_segment_a_score_and_rules_are_added_and_changed(ipb, admin):  # noqa: F811
    data = settings_data(admin.get(URL))
    data.update(
        {
            "segments-4-code": "women",
            "segments-4-label_zh-hans": "女性",
            "segments-4-rule": "D1 == 2",
            "scores-4-code": "effect_again",
            "scores-4-of": "Q3",
            "scores-4-label_zh-hans": "使用效果（复算）",
            "rules-straightlining_action": "",
            "rules-speeder_below_fraction_of_median": "0.5",
            "rules-correction": "bonferroni",
        }
    )
    data["rules-banner"] = ["D1", "segment:active"]
    answer = admin.post(URL, data)
    assert answer.status_code == 302, [
        answer.context[name].errors for name in ("scores", "segments", "rules")
    ] + [answer.context["problems"]]
    document = draft("ipb-survey")
    assert document["segments"][-1] == {
        "code": "women",
        "label": {"zh-hans": "女性"},
        "rule": "D1 == 2",
    }
    assert document["scores"][-1]["of"] == "Q3"
    assert "straightlining" not in document["validity"]
    assert document["validity"]["speeder"]["below_fraction_of_median"] == 0.5
    assert document["analysis"]["banner"] == ["D1", "segment:active"]
    assert document["analysis"]["correction"] == "bonferroni"


def test_a_wrong_rule_and_fraction_are_refused_beside_their_fields(ipb, admin):  # noqa: F811
    data = settings_data(admin.get(URL))
    data["segments-1-rule"] = "Q2.a >"
    data["rules-speeder_below_fraction_of_median"] = "3"
    data.update({"scores-4-code": "g", "scores-4-of": "D1", "scores-4-label_zh-hans": "性别分"})
    answer = admin.post(URL, data)
    assert answer.status_code == 400
    segments = answer.context["segments"]
    assert "位置 6" in segments.forms[1].errors["rule"][0]
    assert answer.context["rules"].errors["speeder_below_fraction_of_median"]
    assert "没有分值" in answer.context["scores"].forms[4].errors["of"][0]  # D1 has no scores
    assert draft("ipb-survey")["segments"][1]["rule"] != "Q2.a >"  # nothing stored


def test_analysts_read_the_settings_but_cannot_save_them(ipb, make_user):
    from tests.studio.test_builder import client_as

    analyst = client_as(make_user, "a", "analyst", grants=(ipb,))
    page = analyst.get(URL)
    assert page.status_code == 200 and "<fieldset disabled>" in page.content.decode()
    assert analyst.post(URL, {}).status_code == 403
