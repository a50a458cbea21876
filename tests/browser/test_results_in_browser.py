"""The analyst results page in a real Chromium: its SVG charts render, every request stays on
our host, the CSP is never violated, and screenshots at desktop and phone sizes."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import expect

from analysis.models import AnalysisRun
from analysis.services.runs import analysis_run_request
from survey.models import QuestionnaireAccess
from tests.analysis.jobs import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def analysed(ipb, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    submit(ipb, 60, seed=5)
    analysis_run_request(questionnaire_id=ipb.pk, trigger="manual")  # runs on commit (no atomic)
    return ipb


def session_cookie(ipb, server):
    analyst = User.objects.create_user("analyst", password=None)
    # get_or_create: a transactional test's flush removes the groups the migrations made.
    analyst.groups.add(Group.objects.get_or_create(name="analyst")[0])
    QuestionnaireAccess.objects.create(user=analyst, questionnaire=ipb)
    client = Client()
    client.force_login(analyst)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": key, "url": server.url}


@pytest.mark.parametrize(
    ("viewport", "name"), [(DESKTOP, "results-page.png"), (None, "results-page-phone.png")]
)
def test_the_results_page_renders_its_charts_on_our_host_only(
    analysed, server, new_context, artifacts, viewport, name
):
    options = {"viewport": viewport} if viewport else {}
    context = new_context(locale="zh-CN", **options)
    context.add_cookies([session_cookie(analysed, server)])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda error: problems.append(str(error)))
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    page.goto(server("/results/ipb-survey/?banner=D2"))
    page.wait_for_load_state("networkidle")

    assert page.url.startswith(server("/results/ipb-survey/"))
    charts = page.locator("svg.chart")
    assert charts.count() >= 10
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 10
    assert page.locator("svg.chart rect.chart-bar").count() > 20
    assert page.locator("html.js").count() == 1  # the script ran (not blocked by the CSP)
    assert "使用效果" in page.content()
    assert hosts <= {server.host}, hosts
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not [p for p in problems if "error" in p.lower()], problems
    page.screenshot(path=str(artifacts / name), full_page=True)


def test_rerun_now_with_javascript_posts_to_the_api_and_reloads_with_the_new_run(
    analysed, server, new_context
):
    context = new_context(locale="zh-CN")
    context.add_cookies([session_cookie(analysed, server)])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else 0)
    first = AnalysisRun.objects.get()
    page.goto(server("/results/ipb-survey/"))
    assert f"#{first.pk}，" in page.locator("#run").inner_text()

    # Hold the API's answer a moment: meanwhile the page says it is analysing.
    held: list = []
    page.route("**/analysis/runs/", lambda route: held.append(route))
    page.get_by_role("button", name="立即重新分析").click()
    page.wait_for_function("document.querySelector('[data-run-status]').textContent !== ''")
    assert page.locator("[data-run-status]").inner_text() == "正在分析…"
    assert page.get_by_role("button", name="立即重新分析").is_disabled()
    assert page.locator("[data-run-progress]").get_attribute("value") is None  # indeterminate
    while not held:
        page.wait_for_timeout(50)
    with page.expect_navigation():  # the run finished at once (eager): the page reloads
        held[0].continue_()
    page.unroute("**/analysis/runs/")

    assert ("POST", "/api/v1/questionnaires/ipb-survey/analysis/runs/") in server.seen
    second = AnalysisRun.objects.exclude(pk=first.pk).get()
    assert second.status == AnalysisRun.Status.DONE
    assert f"#{second.pk}，" in page.locator("#run").inner_text()
    assert not problems, problems


def test_the_filters_narrow_the_page_name_a_wrong_field_and_clear(analysed, server, new_context):
    context = new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_cookies([session_cookie(analysed, server)])
    page = context.new_page()
    page.goto(server("/results/ipb-survey/?banner=D2"))
    counts = AnalysisRun.objects.get().counts
    filters = page.locator("form.filters")

    filters.locator("select[name=status]").select_option("invalid")
    filters.get_by_role("button", name="应用").click()
    notice = page.locator("[data-filtered]")
    expect(notice).to_contain_text(f"状态为“无效”的 {counts['invalid']} 份答卷")
    assert "status=invalid" in page.url and "banner=D2" in page.url  # the banner is kept
    assert filters.locator("select[name=status]").input_value() == "invalid"

    filters.locator("select[name=status]").select_option("")
    filters.locator("input[name=answer]").fill("D1=9")
    filters.get_by_role("button", name="应用").click()
    assert filters.locator("input[name=answer]").get_attribute("aria-invalid") == "true"
    expect(page.locator("#filters").get_by_role("alert")).to_contain_text("D1 没有选项 9")
    assert page.locator("[data-filtered]").count() == 0

    filters.locator("input[name=answer]").fill("D1=2")
    filters.get_by_role("button", name="应用").click()
    results = AnalysisRun.objects.get().results
    women = next(t for t in results["questions"] if t["code"] == "D1")["total"]["options"]["2"]
    expect(page.locator("[data-filtered]")).to_contain_text(
        f"{counts['valid']} 份有效答卷中的 {women['count']} 份"
    )
    page.get_by_role("link", name="清除筛选").click()
    expect(page.locator("[data-filtered]")).to_have_count(0)
    assert "answer=" not in page.url


@pytest.mark.postgres  # a job thread beside the server's: SQLite's shared memory would lock
def test_an_in_process_run_shows_its_progress_bar_and_the_page_updates_when_it_ends(
    analysed, server, new_context, settings
):
    settings.JOBS_IN_THREADS = True  # as under `wenji up`: no worker, the run in a thread
    settings.ANALYSIS_TEST_CHUNK_DELAY_MS = 4000  # the run stays part-way for two polls
    context = new_context(locale="zh-CN")
    context.add_cookies([session_cookie(analysed, server)])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else 0)
    first = AnalysisRun.objects.get()
    page.goto(server("/results/ipb-survey/"))

    page.get_by_role("button", name="立即重新分析").click()
    bar = page.locator("[data-run-progress]")
    page.wait_for_function(
        "(bar => bar.hasAttribute('value') && +bar.value > 0 && +bar.value < 100)",
        arg=bar.element_handle(),
        timeout=10000,
    )
    value = int(float(bar.get_attribute("value")))
    assert page.locator("[data-run-percent]").inner_text() == f"{value}%"
    assert page.locator("[data-run-status]").inner_text() in ("排队中", "进行中")
    second = AnalysisRun.objects.exclude(pk=first.pk).get()
    assert second.status != AnalysisRun.Status.DONE  # the page answered before the run ended

    expect(page.locator("#run")).to_contain_text(f"#{second.pk}，", timeout=30000)
    second.refresh_from_db()
    assert second.status == AnalysisRun.Status.DONE and second.progress == 100
    assert not problems, problems


def test_contents_finder_letters_chart_downloads_and_table_copy(
    analysed, server, new_context, artifacts
):
    context = new_context(locale="zh-CN", viewport={"width": 1600, "height": 900})
    context.add_cookies([session_cookie(analysed, server)])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else 0)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server("/results/ipb-survey/?banner=D1"))

    # The contents stay beside the page on a wide screen and lead to a question.
    toc = page.locator("nav.toc")
    assert toc.evaluate("element => getComputedStyle(element).position") == "fixed"
    toc.locator('a[href="#q-Q3"]').click()
    page.wait_for_function("location.hash === '#q-Q3'")
    box = page.locator("#q-Q3").bounding_box()
    assert box is not None and -2 <= box["y"] < 900  # scrolled to it (sub-pixel off)

    # The finder keeps the matching questions only.
    page.fill("[data-question-search]", "Q5")
    assert page.locator("#q-Q5").is_visible() and not page.locator("#q-D1").is_visible()
    page.fill("[data-question-search]", "")
    assert page.locator("#q-D1").is_visible()

    # Cross-tabs carry the column letters; a matrix draws its answers as stacked parts.
    assert page.locator("#banner .letter").first.inner_text() == "(A)"
    assert page.locator("#q-Q5 svg.chart rect.chart-seg-0").count() >= 5

    # A chart downloads as SVG (with its colours) and as PNG; a table copies as TSV.
    tools = page.locator("#q-Q5 .chart-tools").first
    with page.expect_download() as svg:
        tools.get_by_role("button", name="下载 SVG").click()
    source = Path(svg.value.path()).read_text(encoding="utf-8")
    assert source.startswith("<svg") and ".chart-seg-0{fill:" in source
    with page.expect_download() as png:
        tools.get_by_role("button", name="下载 PNG").click()
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.value.suggested_filename.endswith(".png")
    copy = page.locator("#q-D1 [data-copy-table]")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    copy.click()
    page.wait_for_function("b => b.textContent === '已复制'", arg=copy.element_handle())
    pasted = page.evaluate("navigator.clipboard.readText().catch(() => '')")
    if pasted:  # only in a secure context (localhost is one)
        assert pasted.split("\n")[0].split("\t")[0] == "选项"
    assert not problems, problems
    page.screenshot(path=str(artifacts / "results-contents.png"))
    page.locator("#q-Q5").screenshot(path=str(artifacts / "results-matrix.png"))
    crosstab = page.locator("#banner article.table-block").filter(has_text="Q5").first
    crosstab.screenshot(path=str(artifacts / "results-crosstab.png"))
