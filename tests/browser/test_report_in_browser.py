"""The drafted report in a real Chromium: reached from the results page, a paragraph rewritten
and kept across a re-run, and printed to an A4 PDF with the editing controls left out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from analysis.models import AnalysisRun, ReportEdit
from analysis.services.runs import analysis_run_request
from tests.browser.test_results_in_browser import DESKTOP, analysed, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["analysed"]  # a fixture, used by name

REWRITE = "超过八成的受访者认为所在单位的发展程度基本或完全满足需求。"


def test_rewrite_a_paragraph_re_run_and_print(analysed, server, new_context, artifacts):
    context = new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_cookies([session_cookie(analysed, server)])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else 0)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(server("/results/ipb-survey/"))
    page.get_by_role("link", name="起草报告", exact=True).click()
    expect(page.locator("h1")).to_contain_text("调查报告（初稿）")
    assert page.locator("svg.chart").count() >= 10
    finding = page.locator("#f-question-Q1")
    drafted = finding.locator(".finding-text").inner_text()
    assert drafted.startswith("选择最多的是")

    finding.locator("summary", has_text="改写").click()
    finding.locator("textarea").fill(REWRITE)
    finding.get_by_role("button", name="保存").click()
    page.wait_for_url("**/report/?lang=zh-hans#f-question-Q1")
    expect(page.locator("#f-question-Q1 .finding-text")).to_contain_text(REWRITE)
    assert ReportEdit.objects.get().key == "question:Q1"

    analysis_run_request(questionnaire_id=analysed.pk, trigger="manual")  # runs at once (eager)
    assert AnalysisRun.objects.filter(status=AnalysisRun.Status.DONE).count() == 2
    page.reload()
    expect(page.locator("#f-question-Q1 .finding-text")).to_contain_text(REWRITE)
    expect(page.locator("#f-question-Q1 .finding-note")).to_contain_text("由 analyst 改写")
    page.screenshot(path=str(artifacts / "report-page.png"))

    page.emulate_media(media="print")
    assert not page.locator("#f-question-Q1 .finding-edit").is_visible()
    assert not page.locator(".report-tools").is_visible()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) > 3
    (artifacts / "report.pdf").write_bytes(pdf)
    assert not problems, problems
