"""The drafted report's page, its Word file and analysts' rewrites (analysis.views_report):
languages, filters, who may read and edit, bounded queries, the DOCX read back, and rewrites
that survive a re-run and are flagged when their figures change."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from docx import Document

from analysis.models import ReportEdit
from tests.analysis import jobs
from tests.analysis.jobs import another_questionnaire, submit
from tests.analysis.test_results_page import analysed, analyst, client_for, run_now, user

eager = jobs.eager  # fixture
__all__ = ["analysed", "analyst"]  # fixtures used by name

pytestmark = pytest.mark.django_db

REPORT = "/results/ipb-survey/report/"
EDIT = "/results/ipb-survey/report/edit/"
DOCX = "/results/ipb-survey/report.docx"


def page(client, query="", status=200):
    response = client.get(REPORT + query)
    assert response.status_code == status
    return response.content.decode()


def test_the_chinese_report_drafts_every_part_and_links_each_sentence_to_its_table(
    analyst, analysed
):
    html = page(analyst)
    assert "调查报告（初稿）" in html and 'lang="zh-hans"' in html
    for heading in ("调查方法", "基本情况", "群体差异", "积极参与者"):
        assert heading in html
    assert "回收问卷 60 份" in html
    assert 'href="/results/ipb-survey/#q-Q1"' in html  # the sentence's table
    assert 'href="/results/ipb-survey/?banner=D2#banner"' in html  # a banner's cross-tab
    assert 'href="/results/ipb-survey/#segment-active"' in html  # a segment's profile
    assert html.count('<svg class="chart"') >= 10  # the page's own charts
    assert "style=" not in html and "<script>" not in html  # CSP: no inline style or script
    assert 'href="/results/ipb-survey/report.docx?lang=zh-hans"' in html


def test_the_english_report_with_lang(analyst, analysed):
    html = page(analyst, "?lang=en")
    assert "survey report (draft)" in html and 'lang="en"' in html
    assert "Method" in html and "questionnaires were returned" in html
    assert "调查方法" not in html


def test_an_unknown_language_falls_back_to_the_page_s(analyst, analysed):
    assert "调查方法" in page(analyst, "?lang=xx")


def test_the_results_page_links_to_the_report_with_its_filters(analyst, analysed):
    html = analyst.get("/results/ipb-survey/?channel=web").content.decode()
    assert 'href="/results/ipb-survey/report/?channel=web"' in html
    assert 'href="/results/ipb-survey/report.docx?channel=web"' in html


def test_the_report_follows_the_page_s_filters(analyst, analysed):
    html = page(analyst, "?segment=active")
    assert "segment = active" in html  # the method says which responses it covers
    assert 'href="/results/ipb-survey/?segment=active#q-Q1"' in html


def test_a_wrong_filter_is_named_and_the_report_covers_all_valid_responses(analyst, analysed):
    html = page(analyst, "?submitted_from=yesterday")
    assert "submitted_from" in html and "调查方法" in html


def test_who_may_read_the_report(ipb, analysed):
    anonymous = Client().get(REPORT)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    other = another_questionnaire("other-survey")
    stranger = client_for(user("stranger", "analyst", grants=(other,)))
    assert stranger.get(REPORT).status_code == 404
    assert stranger.get(DOCX).status_code == 404
    respondent = client_for(User.objects.create_user("someone", password=None))
    assert respondent.get(REPORT).status_code == 403
    admin = client_for(user("boss", "admin"))
    assert admin.get(REPORT).status_code == 200


def test_before_any_run_the_page_says_there_is_nothing_to_draft(ipb, analyst):
    html = page(analyst)
    assert 'id="no-report"' in html
    assert analyst.get(DOCX).status_code == 404


def test_the_page_reads_a_bounded_number_of_rows(analyst, analysed, django_assert_max_num_queries):
    page(analyst)  # warm the definition cache, as a second reader finds it
    with django_assert_max_num_queries(9):
        page(analyst)


@pytest.mark.cairo
def test_the_word_file_has_headings_tables_and_charts(analyst, analysed):
    response = analyst.get(DOCX + "?lang=zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="ipb-survey-report-zh-hans.docx"' in response["Content-Disposition"]
    document = Document(io.BytesIO(response.content))
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    assert styles[0][0] == "Title" and "调查报告（初稿）" in styles[0][1]
    assert ("Heading 1", "调查方法") in styles
    assert any(name == "Heading 2" and text.startswith("Q1 ") for name, text in styles)
    assert any("回收问卷 60 份" in text for _name, text in styles)
    assert len(document.tables) >= 10
    assert document.tables[0].rows[0].cells[0].text == "选项"
    assert len(document.inline_shapes) >= 10  # the charts, as pictures


@pytest.mark.cairo
def test_the_english_word_file(analyst, analysed):
    document = Document(io.BytesIO(analyst.get(DOCX + "?lang=en").content))
    assert ("Heading 1", "Method") in [(p.style.name, p.text) for p in document.paragraphs]


def edit(client, key, text, **extra):
    return client.post(EDIT, {"key": key, "text": text, "lang": "zh-hans", **extra})


def test_a_rewrite_replaces_its_paragraph_and_survives_a_re_run(
    ipb, analyst, analysed, django_capture_on_commit_callbacks
):
    response = edit(analyst, "question:Q1", "多数受访者对发展程度感到满意。")
    assert response.status_code == 303
    assert response["Location"] == f"{REPORT}?lang=zh-hans#f-question-Q1"
    html = page(analyst)
    assert "多数受访者对发展程度感到满意。" in html and "由 analyst 改写" in html
    run_now(ipb, django_capture_on_commit_callbacks)  # the same data: the same figures
    html = page(analyst)
    assert "多数受访者对发展程度感到满意。" in html
    assert "改写之后数字已发生变化" not in html
    assert "多数受访者对发展程度感到满意。" not in page(analyst, "?lang=en")  # one language


def test_a_rewrite_is_flagged_when_its_figures_change(
    ipb, analyst, analysed, django_capture_on_commit_callbacks
):
    edit(analyst, "question:Q1", "多数受访者感到满意。")
    submit(ipb, 25, seed=11)
    run_now(ipb, django_capture_on_commit_callbacks)
    html = page(analyst)
    assert "多数受访者感到满意。" in html
    assert "改写之后数字已发生变化" in html and "finding-stale" in html


@pytest.mark.cairo
def test_the_word_file_carries_the_rewrite(analyst, analysed):
    edit(analyst, "question:Q1", "改写后的第一句。")
    document = Document(io.BytesIO(analyst.get(DOCX).content))
    assert "改写后的第一句。" in [p.text for p in document.paragraphs]


def test_back_to_the_draft_removes_the_rewrite(analyst, analysed):
    edit(analyst, "question:Q1", "临时的改写。")
    assert ReportEdit.objects.count() == 1
    response = analyst.post(
        EDIT, {"key": "question:Q1", "text": "临时的改写。", "lang": "zh-hans", "revert": "1"}
    )
    assert response.status_code == 303
    assert ReportEdit.objects.count() == 0
    assert "临时的改写。" not in page(analyst)


def test_rewrites_keep_to_their_filters(analyst, analysed):
    edit(analyst, "question:Q1", "只针对积极参与者的改写。", segment="active")
    assert ReportEdit.objects.get().scope == "segment=active"
    assert "只针对积极参与者的改写。" in page(analyst, "?segment=active")
    assert "只针对积极参与者的改写。" not in page(analyst)


@pytest.mark.parametrize(
    ("key", "text", "field"),
    [
        ("question:NOPE", "x", "key"),
        ("question:Q1", "长" * 4001, "text"),
        ("question:Q1", "坏\x00字", "text"),
        ("", "x", "key"),
    ],
)
def test_a_wrong_rewrite_is_refused_naming_the_field(analyst, analysed, key, text, field):
    response = edit(analyst, key, text)
    assert response.status_code == 400
    assert f"<p>{field}:" in response.content.decode()
    assert ReportEdit.objects.count() == 0


def test_only_readers_of_the_questionnaire_may_rewrite(ipb, analysed):
    stranger = client_for(
        user("stranger", "analyst", grants=(another_questionnaire("other-survey"),))
    )
    assert edit(stranger, "question:Q1", "不该保存").status_code == 404
    respondent = client_for(User.objects.create_user("someone", password=None))
    assert edit(respondent, "question:Q1", "不该保存").status_code == 403
    assert Client().post(EDIT, {"key": "question:Q1", "text": "x"}).status_code == 302
    assert ReportEdit.objects.count() == 0
    assert Group.objects.filter(name="analyst").exists()


def test_report_export_writes_markdown_and_names_wrong_arguments(analyst, analysed, tmp_path):
    edit(analyst, "question:Q1", "命令行也带上改写。")
    out = io.StringIO()
    target = tmp_path / "report.md"
    call_command("report_export", "ipb-survey", "-o", str(target), stdout=out)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# ") and "## 调查方法" in text and "### Q1 " in text
    assert "命令行也带上改写。" in text and "| 选项 | 小计 | 比例 |" in text
    english = tmp_path / "report-en.md"
    call_command("report_export", "ipb-survey", "--lang", "en", "-o", str(english), stdout=out)
    assert "## Method" in english.read_text(encoding="utf-8")
    with pytest.raises(CommandError, match="no questionnaire 'nope'"):
        call_command("report_export", "nope")
    with pytest.raises(CommandError, match="--filter 'bogus=1'"):
        call_command("report_export", "ipb-survey", "--filter", "bogus=1")
    with pytest.raises(CommandError, match="submitted_from"):
        call_command("report_export", "ipb-survey", "--filter", "submitted_from=soon")
    with pytest.raises(CommandError, match="needs -o"):
        call_command("report_export", "ipb-survey", "--format", "docx")
