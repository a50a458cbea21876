"""Filtered results: the same aggregation over the responses the filters select, checked
against the banner columns the run computed for the same people, and the page's filters."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analysis.services.filtered import FilteredTooLarge, filtered_results
from survey.filters import FiltersInvalid, ResponseFilters
from survey.models import Answer, Response
from tests.analysis.jobs import submit
from tests.analysis.test_results_page import run_now, user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def analysed(ipb, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    submit(ipb, 80, seed=21)
    return run_now(ipb, django_capture_on_commit_callbacks).results


def without_letters(value):
    if isinstance(value, dict):
        return {
            k: without_letters(v) for k, v in value.items() if k not in ("letters", "mean_letters")
        }
    return value


@pytest.mark.parametrize(
    ("filters", "column"),
    [
        (ResponseFilters(answer="D1=2"), "D1=2"),
        (ResponseFilters(segment="active"), "segment:active"),
    ],
)
def test_a_filtered_total_is_the_runs_banner_column_for_the_same_people(
    ipb, analysed, filters, column
):
    document = filtered_results(questionnaire=ipb, filters=filters)
    compared = 0
    for table, full in zip(document["questions"], analysed["questions"], strict=True):
        if column in full["by"]:
            assert without_letters(table["total"]) == without_letters(full["by"][column]), table[
                "code"
            ]
            compared += 1
    assert compared >= 20  # every question but the banner's own
    for score, full in zip(document["scores"], analysed["scores"], strict=True):
        if column in full["by"]:
            assert without_letters(score["total"]) == without_letters(full["by"][column])
    assert document["base"]["all_valid"] == analysed["base"]["valid"]
    assert document["filters"] == filters.as_dict()


def test_filtered_validity_counts_the_selected_responses(ipb, analysed):
    used = Response.objects.filter(questionnaire=ipb).values_list("channel", flat=True)[0]
    other = next(c for c in Response.Channel.values if c != used)
    document = filtered_results(questionnaire=ipb, filters=ResponseFilters(channel=other))
    assert document["validity"]["collected"] == 0 and document["base"]["valid"] == 0
    everyone = filtered_results(questionnaire=ipb, filters=ResponseFilters(channel=used))
    assert everyone["validity"]["collected"] == analysed["validity"]["collected"]
    assert everyone["validity"]["invalid"] == analysed["validity"]["invalid"]


def test_the_status_filter_chooses_whose_answers_the_tables_count(ipb, analysed):
    statuses = dict(
        Response.objects.filter(questionnaire=ipb)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    assert statuses.get("invalid") and statuses.get("flagged")  # the sample has both
    expected = {
        "valid": statuses.get("valid", 0) + statuses["flagged"],
        "clean": statuses.get("valid", 0),
        "flagged": statuses["flagged"],
        "invalid": statuses["invalid"],
        "all": sum(statuses.values()),
    }
    for status, count in expected.items():
        document = filtered_results(questionnaire=ipb, filters=ResponseFilters(status=status))
        assert document["base"]["valid"] == count, status
        d1 = next(t for t in document["questions"] if t["code"] == "D1")
        assert sum(o["count"] for o in d1["total"]["options"].values()) == count, status
        assert document["base"]["all_valid"] == expected["valid"]
    # the invalid responses' answers are theirs: their D1 counts are the stored answers'
    invalid_d1 = filtered_results(questionnaire=ipb, filters=ResponseFilters(status="invalid"))
    d1 = next(t for t in invalid_d1["questions"] if t["code"] == "D1")["total"]["options"]
    stored = dict(
        Answer.objects.filter(
            response__questionnaire=ipb, response__status="invalid", question__code="D1"
        )
        .values_list("option__code")
        .annotate(n=Count("id"))
        .values_list("option__code", "n")
    )
    assert {code: o["count"] for code, o in d1.items() if o["count"]} == stored


@pytest.mark.usefixtures("english")
def test_too_many_responses_are_refused_and_wrong_filters_name_the_field(ipb, analysed, settings):
    settings.RESULTS_FILTER_MAX_RESPONSES = 5
    with pytest.raises(FilteredTooLarge, match="at most 5"):
        filtered_results(questionnaire=ipb, filters=ResponseFilters(answer="D1=1"))
    with pytest.raises(FiltersInvalid) as refused:
        filtered_results(questionnaire=ipb, filters=ResponseFilters(segment="nope"))
    assert "segment" in refused.value.fields


def test_a_second_look_comes_from_the_cache(ipb, analysed):
    filters = ResponseFilters(answer="D1=1")
    first = filtered_results(questionnaire=ipb, filters=filters)
    with CaptureQueriesContext(connection) as queries:
        again = filtered_results(questionnaire=ipb, filters=filters)
    assert again == first and len(queries) <= 4  # the cache key's reads, no aggregation


@pytest.mark.usefixtures("english")
def test_the_page_applies_its_filters_everywhere_and_keeps_them_across_banners(ipb, analysed):
    client = Client()
    client.force_login(user("reader", "analyst", grants=(ipb,)))
    html = client.get("/results/ipb-survey/", {"answer": "D1=2", "banner": "D2"}).content.decode()
    women = next(t for t in analysed["questions"] if t["code"] == "D1")["total"]["options"]["2"]
    valid = analysed["base"]["valid"]
    assert f"these results cover {women['count']} of {valid} valid responses" in html
    assert '<input type="hidden" name="answer" value="D1=2">' in html  # the banner picker
    assert 'value="D1=2"' in html.split('id="filters"')[1]
    invalid = client.get("/results/ipb-survey/", {"status": "invalid"}).content.decode()
    count = analysed["validity"]["invalid"]
    assert f"these results cover {count} responses of status “invalid”" in invalid
    assert '<option value="invalid" selected>' in invalid
    wrong = client.get("/results/ipb-survey/", {"answer": "D1=9"}).content.decode()
    assert "D1 has no option 9" in wrong and "these results cover" not in wrong
    assert "Clear the filters" in wrong


def test_the_results_api_honours_the_same_filters(ipb, analysed, make_user, client_for):
    api = client_for(make_user("api-reader", "analyst", grants=(ipb,)))
    url = "/api/v1/questionnaires/ipb-survey/analysis/"
    body = api.get(url, {"answer": "D1=2"}).json()
    d1 = next(t for t in analysed["questions"] if t["code"] == "D1")
    assert body["results"]["base"]["valid"] == d1["total"]["options"]["2"]["count"]
    assert body["results"]["filters"]["answer"] == "D1=2"
    refused = api.get(url, {"answer": "D1=9"})
    assert refused.status_code == 400 and "answer" in refused.json()["fields"]
    assert api.get(url, {"channel": "fax"}).status_code == 400
    assert api.get(url, {"status": "lost"}).status_code == 400
    flagged = api.get(url, {"status": "flagged"}).json()["results"]
    assert flagged["base"]["valid"] == analysed["validity"]["flagged"]
    assert "filters" not in api.get(url).json()["results"]
