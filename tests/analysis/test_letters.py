"""Significance letters in the banner cross-tabs: on hand-made data where the answer is known,
in the results document, the API and the page; the correction chosen per questionnaire."""

from __future__ import annotations

import pytest
from django.test import Client

from analysis.models import AnalysisRun
from analysis.services.stats import Mean, Proportion, column_letters
from survey.models import Questionnaire
from survey.services.questionnaires import questionnaire_export
from tests.analysis.test_results_page import user
from tests.analysis.test_tables import analyse, score, submit, table

pytestmark = pytest.mark.django_db


def two_camps(questionnaire: Questionnaire, size: int = 35, minority: int = 5) -> None:
    """Men mostly post actively (Q3=1), women mostly post little (Q3=2); everyone D2=3."""
    for gender, usual, other in ((1, 1, 2), (2, 2, 1)):
        for index in range(size):
            submit(questionnaire, D1=gender, Q3=other if index < minority else usual)


def test_a_column_significantly_higher_carries_the_other_columns_letter(ipb):
    two_camps(ipb)
    doc = analyse(ipb)
    by = table(doc, "Q3")["by"]
    # 30/35 of the men against 5/35 of the women chose 1: A (men) is above B (women).
    assert by["D1=1"]["options"]["1"]["letters"] == ["B"]
    assert by["D1=2"]["options"]["1"]["letters"] == []
    assert by["D1=2"]["options"]["2"]["letters"] == ["A"]
    # Nobody chose 3: no test, no letters.
    assert by["D1=1"]["options"]["3"]["letters"] == by["D1=2"]["options"]["3"]["letters"] == []
    # Q3 is scored (1 → 5 points, 2 → 4): the men's mean is higher, by Welch's t-test.
    assert by["D1=1"]["mean"] == pytest.approx((30 * 5 + 5 * 4) / 35)
    assert by["D1=1"]["mean_letters"] == ["B"] and by["D1=2"]["mean_letters"] == []
    # The derived score of Q3 (usage_effect) carries the same letters.
    assert score(doc, "usage_effect")["by"]["D1=1"]["mean_letters"] == ["B"]


def test_a_banner_never_cuts_its_own_question_and_flags_low_bases(ipb):
    two_camps(ipb)
    doc = analyse(ipb)
    assert not any(key.startswith("D1=") for key in table(doc, "D1")["by"])
    assert "D2=1" in table(doc, "D1")["by"]
    d2 = next(entry for entry in doc["banner"] if entry["key"] == "D2")
    assert [c["letter"] for c in d2["columns"]] == ["A", "B", "C", "D", "E", "F"][
        : len(d2["columns"])
    ]
    flags = {c["code"]: c["low_base"] for c in d2["columns"]}
    assert flags["3"] is False and flags["1"] is True  # 70 answered 3; nobody answered 1
    d1 = next(entry for entry in doc["banner"] if entry["key"] == "D1")
    assert [c["n"] for c in d1["columns"]] == [35, 35]


def test_the_correction_changes_what_is_significant(ipb):
    # A difference whose uncorrected p is below 0.05 but not after Bonferroni over 15 pairs.
    cells = [Proportion(30, 60), Proportion(18, 60)] + [Proportion(24, 60)] * 4
    letters = list("ABCDEF")
    plain = column_letters(cells, letters=letters, alpha=0.05, correction="none")
    strict = column_letters(cells, letters=letters, alpha=0.05, correction="bonferroni")
    assert plain[0] == ["B"] and strict[0] == []
    # Holm is never stricter than Bonferroni.
    holm = column_letters(cells, letters=letters, alpha=0.05, correction="holm")
    assert all(set(b) <= set(h) for b, h in zip(strict, holm, strict=True))


def test_means_without_variance_or_values_are_not_tested():
    cells = [Mean(5, 3.0, 0.0), Mean(5, 4.0, 0.0), Mean(0, None, None)]
    assert column_letters(cells, letters="ABC", alpha=0.05, correction="holm") == [[], [], []]


def test_the_questionnaires_correction_is_used_and_exported(ipb):
    two_camps(ipb, size=12, minority=4)
    ipb.correction = Questionnaire.Correction.NONE
    ipb.definition_version += 1
    ipb.save()
    doc = analyse(ipb)
    assert doc["correction"] == "none"
    assert questionnaire_export(questionnaire=ipb)["analysis"]["correction"] == "none"


def page_reader(questionnaire: Questionnaire, results: dict) -> Client:
    """A done run holding ``results``, and an analyst's client granted the questionnaire."""
    AnalysisRun.objects.create(
        questionnaire=questionnaire,
        status=AnalysisRun.Status.DONE,
        trigger=AnalysisRun.Trigger.MANUAL,
        results=results,
        progress=100,
    )
    client = Client()
    client.force_login(user("analyst", "analyst", grants=(questionnaire,)))
    return client


def test_the_page_shows_column_letters_and_explains_them(ipb, settings):
    two_camps(ipb)
    client = page_reader(ipb, analyse(ipb))
    html = client.get("/results/ipb-survey/?banner=D1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="letter">(A)</span>' in html and '<span class="letter">(B)</span>' in html
    assert '<span class="sig letters">B</span>' in html
    assert "Holm" in html
    # D1 is not cut by D1: its table is not among the cross-tabs.
    crosstabs = html[html.index('id="banner"') :]
    assert '<span class="code">D1</span>' not in crosstabs
    assert '<span class="code">Q3</span>' in crosstabs
