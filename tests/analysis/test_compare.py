"""Two segments side by side: their columns lettered against each other, on the page."""

from __future__ import annotations

import pytest
from scipy import stats as scipy_stats

from analysis.presenters import compare_context
from tests.analysis.test_letters import page_reader, two_camps
from tests.analysis.test_tables import analyse, submit

pytestmark = pytest.mark.django_db


def z_p(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
    return 2 * scipy_stats.norm.sf(abs(z))


ACTIVE = {"a": 4, "b": 4, "c": 4, "d": 4}
PASSIVE = {"a": 1, "b": 1, "c": 1, "d": 1}


def test_two_segments_are_lettered_against_each_other(ipb):
    # Active participants mostly post actively (Q3=1), passive ones mostly post little.
    for q2, usual, other in ((ACTIVE, 1, 2), (PASSIVE, 2, 1)):
        for index in range(35):
            submit(ipb, Q2=q2, Q3=other if index < 5 else usual)
    document = analyse(ipb)
    context = compare_context(document, "zh-hans", first="active", second="passive", ranked=False)
    assert ("active", "积极参与者") in context["choices"]
    table = context["table"]
    assert [h["letter"] for h in table["headers"]] == ["", "A", "B"]
    assert [h["n"] for h in table["headers"]] == [None, 35, 35]
    rows = next(q for q in table["questions"] if q["code"] == "Q3")["rows"]
    posts_actively = rows[1]  # base row first, then option 1
    assert z_p(30, 35, 5, 35) < 0.05  # scipy agrees the difference is significant
    assert (posts_actively[2]["letters"], posts_actively[3]["letters"]) == ("B", "")
    posts_little = rows[2]
    assert (posts_little[2]["letters"], posts_little[3]["letters"]) == ("", "A")
    # The banner's own letters (segment against the rest) are untouched.
    q3 = next(q for q in document["questions"] if q["code"] == "Q3")
    assert "letters" in q3["by"]["segment:active"]["options"]["1"]


def test_the_same_segment_twice_or_an_unknown_one_is_refused_with_a_notice(ipb):
    document = analyse_with(ipb)
    for first, second in (("active", "active"), ("active", "nope")):
        context = compare_context(document, "en", first=first, second=second, ranked=False)
        assert "table" not in context and context["notice"]


def analyse_with(ipb):
    two_camps(ipb, size=10, minority=2)
    return analyse(ipb)


@pytest.mark.usefixtures("english")
def test_the_page_compares_the_chosen_segments(ipb, settings):
    client = page_reader(ipb, analyse_with(ipb))
    html = client.get(
        "/results/ipb-survey/", {"compare_a": "active", "compare_b": "trend_sceptic"}
    ).content.decode()
    section = html[html.index('id="compare"') : html.index('id="profiles"')]
    assert "Active participants" in section and '<span class="letter">(B)</span>' in section
    assert '<span class="code">Q3</span>' in section
    assert 'href="#compare"' in html
