"""The analyst results page /results/<slug>/: tables, charts, banner cross-tabs, segment
profiles, the run's progress and "re-run now", who may see it, and its bounded queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from analysis.models import AnalysisRun
from analysis.services.runs import analysis_run_request
from survey.models import QuestionnaireAccess
from tests.analysis import jobs
from tests.analysis.jobs import another_questionnaire, submit

eager = jobs.eager  # fixture

pytestmark = pytest.mark.django_db

PAGE = "/results/ipb-survey/"


def user(name, *roles, grants=()):
    person = User.objects.create_user(name, password=None)
    person.groups.add(*Group.objects.filter(name__in=roles))
    for questionnaire in grants:
        QuestionnaireAccess.objects.create(user=person, questionnaire=questionnaire)
    return person


def client_for(person, **headers):
    client = Client(**headers)
    client.force_login(person)
    return client


@pytest.fixture
def analyst(ipb):
    return client_for(user("analyst", "analyst", grants=(ipb,)))


def run_now(questionnaire, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        analysis_run_request(questionnaire_id=questionnaire.pk, trigger="manual")
    run = AnalysisRun.objects.filter(questionnaire=questionnaire).order_by("-id").first()
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


@pytest.fixture
def analysed(ipb, eager, django_capture_on_commit_callbacks):
    submit(ipb, 60, seed=3)
    return run_now(ipb, django_capture_on_commit_callbacks)


def page(client, query="", **headers):
    response = client.get(PAGE + query, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_every_table_with_chinese_labels_and_svg_charts(analyst, analysed):
    html = page(analyst)
    assert "您的性别" in html and "男" in html  # D1 and its option
    assert "内容丰富度" in html  # a matrix item (Q5.a)
    assert "使用效果" in html  # a derived score
    assert "积极参与者" in html  # a segment
    assert html.count('<svg class="chart"') >= 10
    assert 'role="img"' in html and "<title>" in html
    assert "<progress" not in html or "hidden" in html  # no run in progress
    assert "style=" not in html and "<script>" not in html  # CSP: no inline style or script


def test_english_labels_with_accept_language_or_the_language_switch(analyst, analysed):
    html = page(analyst, HTTP_ACCEPT_LANGUAGE="en")
    assert "Gender" in html and "Richness of content" in html and "您的性别" not in html
    switched = analyst.post("/i18n/setlang/", {"language": "en", "next": PAGE})
    assert switched.status_code == 302
    assert "Usage effect" in page(analyst)


def test_the_banner_picker_shows_that_banners_cross_tabs(analyst, analysed):
    html = page(analyst, "?banner=D2")
    assert '<option value="D2" selected>' in html
    assert "21-30岁" in html and "60岁以上" in html  # the age columns
    ranked = page(analyst, "?banner=segment:active&rank=best")
    assert '<option value="segment:active" selected>' in ranked
    assert "其他所有人" in ranked or "Everyone else" in ranked


def test_an_unknown_banner_says_so_and_shows_the_first(analyst, analysed):
    html = page(analyst, "?banner=NOPE")
    assert "NOPE" in html and '<option value="D1" selected>' in html


def test_a_significant_difference_is_marked_with_its_p_value(analyst, analysed):
    # Members of trend_sceptic answered Q14 with 3 or 4, the rest never did: significant.
    comparison = next(c for c in analysed.results["comparisons"] if c["segment"] == "trend_sceptic")
    tested = [t for t in comparison["options"] if t["question"] == "Q14" and t["significant"]]
    assert tested
    html = page(analyst, HTTP_ACCEPT_LANGUAGE="en")
    profile = html[html.index('id="segment-trend_sceptic"') :]
    profile = profile[: profile.index("</article>")]
    assert 'class="sig" title="p = ' in profile
    assert "significant, p " in profile  # the marker says it in words, not colour alone


def test_without_a_finished_run_the_page_says_so_and_offers_a_rerun(analyst, ipb):
    html = page(analyst)
    assert 'id="no-run"' in html
    assert 'action="/results/ipb-survey/run/"' in html


def test_a_queued_run_shows_a_progress_bar_polling_the_status_api(analyst, ipb):
    run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual", dispatch=False)
    html = page(analyst)
    assert f'data-status-url="/api/v1/questionnaires/ipb-survey/analysis/runs/{run.pk}/"' in html
    assert '<progress max="100" value="0"' in html


def test_rerun_post_requests_a_run_and_returns_to_the_page(analyst, ipb, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = analyst.post(PAGE + "run/", {"banner": "D2", "rank": "best"})
    assert response.status_code == 302
    assert response["Location"] == PAGE + "?banner=D2&rank=best"
    run = AnalysisRun.objects.get(questionnaire=ipb)
    assert run.trigger == AnalysisRun.Trigger.MANUAL and run.requested_by.username == "analyst"


def test_rerun_needs_a_post(analyst, ipb):
    assert analyst.get(PAGE + "run/").status_code == 405


def test_anonymous_visitors_are_sent_to_the_login_page(ipb):
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/results/ipb-survey/")
    assert Client().post(PAGE + "run/").status_code == 302
    assert not AnalysisRun.objects.exists()


def test_a_collector_is_refused(ipb):
    collector = client_for(user("collector", "collector", grants=(ipb,)))
    assert collector.get(PAGE).status_code == 403
    assert collector.post(PAGE + "run/").status_code == 403


def test_an_analyst_of_another_questionnaire_finds_nothing(ipb):
    other = another_questionnaire("other-survey")
    stranger = client_for(user("stranger", "analyst", grants=(other,)))
    assert stranger.get(PAGE).status_code == 404
    assert stranger.post(PAGE + "run/").status_code == 404
    assert stranger.get("/results/other-survey/").status_code == 200


def test_an_admin_sees_every_questionnaire(ipb):
    admin = client_for(user("boss", "admin"))
    assert admin.get(PAGE).status_code == 200


def test_the_page_links_the_existing_exports(analyst, analysed):
    html = page(analyst)
    assert "/api/v1/questionnaires/ipb-survey/exports/responses.csv?bom=true" in html
    assert "kind=tables" in html and 'data-export-format="xlsx"' in html
    assert 'data-export-format="sav"' in html
    assert "kind=responses_long" in html and "values=codes" in html
    long_url = html.split('href="')[1:]
    long_url = next(u.split('"')[0] for u in long_url if "kind=responses_long" in u)
    answer = analyst.get(long_url.replace("&amp;", "&"))
    assert answer.status_code == 200 and b"".join(answer.streaming_content).count(b"\r\n") > 60


@pytest.mark.parametrize("count", [20, 80])
def test_queries_are_bounded_whatever_the_number_of_responses(
    analyst, ipb, eager, django_capture_on_commit_callbacks, django_assert_max_num_queries, count
):
    submit(ipb, count, seed=count)
    run_now(ipb, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(10):  # 9, and one for the live quota progress
        page(analyst, "?banner=D2")


def test_contents_link_every_section_and_question_and_sections_fold(analyst, analysed):
    html = page(analyst, HTTP_ACCEPT_LANGUAGE="en")
    toc = html[html.index('<nav class="toc"') : html.index("</nav>")]
    for section in analysed.results["sections"]:
        assert f'href="#s-{section["code"]}"' in toc
        assert f'<details class="section-block" id="s-{section["code"]}" open>' in html
        for code in section["questions"]:
            assert f'href="#q-{code}"' in toc and f'id="q-{code}"' in html
    assert "data-question-search" in html  # the question finder (shown by the script)


def test_a_scored_single_choice_shows_its_mean(analyst, analysed):
    html = page(analyst, HTTP_ACCEPT_LANGUAGE="en")
    q3 = next(q for q in analysed.results["questions"] if q["code"] == "Q3")
    block = html[html.index('id="q-Q3"') :]
    block = block[: block.index("</article>")]
    assert f"Mean score {q3['total']['mean']:,.2f}" in block


def test_new_responses_since_the_run_are_counted_with_a_rerun_at_hand(analyst, analysed, ipb):
    assert "since this run" not in page(analyst, HTTP_ACCEPT_LANGUAGE="en")
    submit(ipb, 2, seed=9)
    html = page(analyst, HTTP_ACCEPT_LANGUAGE="en")
    assert "2 new responses since this run: re-run to include them." in html
    assert f"over {analysed.counts['collected']} responses" in html


def test_one_table_downloads_as_xlsx_with_its_cross_tab(analyst, analysed):
    from io import BytesIO

    from openpyxl import load_workbook

    html = page(analyst, "?banner=D2")
    assert '/results/ipb-survey/table.xlsx?question=Q3&amp;banner=D2"' in html
    answer = analyst.get("/results/ipb-survey/table.xlsx", {"question": "Q3", "banner": "D2"})
    assert answer.status_code == 200 and "ipb-survey-Q3.xlsx" in answer["Content-Disposition"]
    book = load_workbook(BytesIO(answer.content))
    assert len(book.sheetnames) == 3
    frequencies = [row[0] for row in book.worksheets[1].iter_rows(values_only=True) if row[0]]
    assert any(str(title).startswith("Q3 ") for title in frequencies)
    crosstab = [c for row in book.worksheets[2].iter_rows(values_only=True) for c in row if c]
    q3 = next(q for q in analysed.results["questions"] if q["code"] == "Q3")
    d2 = next(e for e in analysed.results["banner"] if e["key"] == "D2")
    assert {c["n"] for c in d2["columns"]} <= set(crosstab) | {0}
    assert q3["total"]["n"] in crosstab
    assert analyst.get("/results/ipb-survey/table.xlsx", {"question": "NOPE"}).status_code == 404
    bad = analyst.get("/results/ipb-survey/table.xlsx", {"question": "Q3", "answer": "D1=9"})
    assert bad.status_code == 400
