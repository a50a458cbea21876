"""The studio in a real Chromium, in Chinese, by clicks and typing only: a blank
questionnaire, a matrix and a choice question with options typed in, a skip rule, a refused
edit shown beside its field, publishing, the form filled on a phone, and the response
counted in the studio's list. Screenshots of the list and the builder for the README."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import expect

from survey.models import Questionnaire, Response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1600, "height": 1000}


def admin_cookie(server) -> dict:
    admin = User.objects.create_user("studio-admin", password=None)
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = Client()
    client.force_login(admin)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": key, "url": server.url}


def save(page) -> None:
    page.get_by_role("button", name="保存到草稿").click()


def test_an_admin_builds_publishes_and_gets_a_response_by_clicks_alone(
    server, new_context, phone, artifacts
):
    context = new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_cookies([admin_cookie(server)])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else 0)

    page.goto(server("/studio/"))
    page.get_by_label("空白问卷").check()
    page.get_by_label("标题").fill("社区活动调查")
    page.get_by_label("网址标识（slug）").fill("community")
    page.get_by_role("button", name="创建").click()
    expect(page.locator(".studio-messages")).to_contain_text("已创建 community")

    # Q1: a single choice, typed in
    editor = page.locator("#editor")
    editor.locator("textarea[name='q-label_zh-hans']").fill("您多久参加一次社区活动？")
    editor.locator("input[name='options-0-label_zh-hans']").fill("每周")
    editor.locator("input[name='options-1-label_zh-hans']").fill("每月")
    editor.locator("textarea[name='choices_paste']").fill("很少\n从不")
    save(page)
    expect(page.locator(".studio-messages")).to_contain_text("已保存到草稿：Q1")
    assert editor.locator("input[name^='options-'][name$='-code']").count() == 4
    editor.locator("textarea[name='choices_paste']").fill("其他")
    save(page)
    editor.locator("input[name='options-4-is_other']").check()  # "other, please specify"
    save(page)
    expect(page.locator(".studio-messages")).to_contain_text("已保存到草稿：Q1")
    expect(editor.locator("input[name='options-4-is_other']")).to_be_checked()

    # Q2: a matrix from the palette, asked only of those who take part (a skip rule)
    page.get_by_role("button", name="矩阵量表题").click()
    expect(page.locator("#editor-title")).to_contain_text("Q2")
    editor.locator("textarea[name='q-label_zh-hans']").fill("您对活动的评价")
    editor.locator("input[name='items-0-label_zh-hans']").fill("内容")
    editor.locator("input[name='items-1-label_zh-hans']").fill("组织")
    editor.locator("input[name='q-show_if']").fill("Q9 in [1, 2]")
    save(page)  # Q9 does not exist: refused, beside the box, in Chinese
    show_if = editor.locator("input[name='q-show_if']")
    expect(show_if).to_have_attribute("aria-invalid", "true")
    expect(show_if.locator("xpath=..").locator(".field-error")).to_contain_text("Q9")
    show_if.fill("")
    designer = editor.locator("details.designer")
    designer.locator("summary").click()
    designer.get_by_label("题目").select_option("Q1")
    designer.get_by_label("每周").check()
    designer.get_by_label("每月").check()
    designer.get_by_role("button", name="添加此条件").click()
    expect(show_if).to_have_value("Q1 in [1, 2]")
    expect(editor.locator(".live-check")).to_have_text("规则检查通过：可以使用这个表达式。")
    designer.screenshot(path=str(artifacts / "studio-logic.png"))
    save(page)
    expect(page.locator(".studio-messages")).to_contain_text("已保存到草稿：Q2")
    # the live preview is the draft, by the form's renderer, with the skip rule working
    preview = page.frame_locator("iframe[data-preview]")
    expect(preview.locator("#q-Q1")).to_contain_text("您多久参加一次社区活动？")
    matrix = preview.locator("#q-Q2")
    preview.locator('#q-Q1 input[value="4"]').check()  # 从不: Q2 is not asked
    expect(matrix).to_be_hidden()
    preview.locator('#q-Q1 input[value="1"]').check()
    expect(matrix).to_be_visible()
    expect(page.locator("#outline-Q1")).to_contain_text("Q2")  # what depends on Q1
    page.screenshot(path=str(artifacts / "studio-builder.png"), full_page=True)

    # a score and a segment, on the analysis settings, the segment's rule by the designer
    page.get_by_role("link", name="分析设置").click()
    page.locator("input[name='scores-0-code']").fill("rating")
    page.locator("select[name='scores-0-of']").select_option("Q2")
    page.locator("input[name='scores-0-label_zh-hans']").fill("活动评价")
    page.locator("input[name='segments-0-code']").fill("weekly")
    page.locator("input[name='segments-0-label_zh-hans']").fill("每周参加者")
    designer = page.locator("details.designer").first
    designer.locator("summary").click()
    designer.get_by_label("题目").select_option("Q1")
    designer.get_by_label("每周").check()
    designer.get_by_role("button", name="添加此条件").click()
    expect(page.locator("input[name='segments-0-rule']")).to_have_value("Q1 in [1]")
    page.locator("select[name='rules-speeder_action']").select_option("flag")
    page.locator("input[name='rules-speeder_below_fraction_of_median']").fill("0.3")
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator(".studio-messages")).to_contain_text("分析设置已保存到草稿")
    page.get_by_role("link", name="返回问卷设计器").click()

    page.get_by_role("button", name="发布修改").click()
    expect(page.locator(".studio-messages")).to_contain_text("已发布")
    published = Questionnaire.objects.get(slug="community")
    assert published.status == Questionnaire.Status.OPEN
    assert [(s.code, s.question.code) for s in published.scores.all()] == [("rating", "Q2")]
    assert [(s.code, s.rule) for s in published.segments.all()] == [("weekly", "Q1 in [1]")]

    form = phone.new_page()
    form.goto(server("/s/community/"))
    form.check('#q-Q1 input[value="1"]')
    form.check('#i-Q2-a input[value="1"]')
    form.check('#i-Q2-b input[value="2"]')
    form.evaluate("document.getElementById('wf').requestSubmit()")
    form.wait_for_url("**/thanks/")
    assert Response.objects.filter(questionnaire__slug="community").count() == 1

    page.goto(server("/studio/community/share/"))
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 PNG").click()
    poster = download.value
    assert poster.suggested_filename == "community-poster.png"
    with open(poster.path(), "rb") as drawn:
        assert drawn.read(8) == b"\x89PNG\r\n\x1a\n"
    page.screenshot(path=str(artifacts / "studio-share.png"), full_page=True)

    page.goto(server("/studio/"))
    expect(page.locator('tr[data-slug="community"] [data-counts]')).to_have_text("1 / 1")
    page.screenshot(path=str(artifacts / "studio-list.png"), full_page=True)
    # the refused edit's page is a 400 on purpose; nothing else may fail
    assert not [p for p in problems if "status of 400" not in p], problems


def test_keyboard_alone_moves_a_question(server, new_context):
    context = new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_cookies([admin_cookie(server)])
    page = context.new_page()
    page.goto(server("/studio/"))
    page.get_by_label("空白问卷").check()
    page.get_by_label("标题").fill("键盘")
    page.get_by_label("网址标识（slug）").fill("keys")
    page.get_by_role("button", name="创建").click()
    page.get_by_role("button", name="填空题").click()
    expect(page.locator("#editor-title")).to_contain_text("Q2")
    page.get_by_role("button", name="上移 Q2").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".outline-questions li").first).to_contain_text("Q2")


def drag(page, handle, target) -> None:
    """A person's drag: press on the handle, move in steps, release over the target.

    Only once the page has loaded: the drag and drop is set up by deferred scripts, which run
    after the rows are on the screen (a drag before that moved nothing, on a busy machine)."""
    page.wait_for_load_state("load")
    start, end = handle.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + 10, end["y"] + 2, steps=12)
    page.mouse.move(end["x"] + 12, end["y"] + 3, steps=3)
    page.mouse.up()


def test_drag_and_drop_moves_questions_and_options_and_undo_puts_them_back(server, new_context):
    context = new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_cookies([admin_cookie(server)])
    page = context.new_page()
    page.goto(server("/studio/"))
    page.get_by_label("空白问卷").check()
    page.get_by_label("标题").fill("拖动")
    page.get_by_label("网址标识（slug）").fill("drag")
    page.get_by_role("button", name="创建").click()
    page.get_by_role("button", name="填空题").click()
    expect(page.locator("#editor-title")).to_contain_text("Q2")

    drag(page, page.locator("#outline-Q2 .drag"), page.locator("#outline-Q1"))
    expect(page.locator(".studio-messages")).to_contain_text("题目顺序已调整")
    expect(page.locator(".outline-questions li").first).to_contain_text("Q2")

    with page.expect_navigation():
        page.locator("#outline-Q1 a").click()
    rows = page.locator("table[data-sortable-rows] tbody tr")
    drag(page, rows.nth(1).locator(".drag"), rows.nth(0))
    expect(rows.nth(0).locator("input[name$='-code']")).to_have_value("2")  # option 2 first
    expect(rows.nth(0).locator("input[name$='-ORDER']")).to_have_value("1")  # renumbered
    expect(rows.nth(1).locator("input[name$='-ORDER']")).to_have_value("2")

    # autosave: typing is saved a moment later, without pressing Save
    page.locator("textarea[name='q-label_zh-hans']").fill("自动保存的标题")
    expect(page.locator("[data-autosave-status]")).to_have_text("已自动保存到草稿。")
    page.reload()
    expect(page.locator("#outline-Q1")).to_contain_text("自动保存的标题")

    page.get_by_role("button", name=re.compile("撤销")).click()
    expect(page.locator(".studio-messages")).to_contain_text("已撤销上一次修改")
    expect(page.locator("#outline-Q1")).not_to_contain_text("自动保存的标题")
    page.get_by_role("button", name=re.compile("撤销")).click()
    expect(page.locator(".studio-messages")).to_contain_text("已撤销上一次修改")
    expect(page.locator(".outline-questions li").first).to_contain_text("Q1")


def test_two_admins_editing_at_once_get_a_conflict_never_an_overwrite(server, new_context):
    cookie = admin_cookie(server)
    first, second = (new_context(locale="zh-CN", viewport=DESKTOP) for _ in range(2))
    for context in (first, second):
        context.add_cookies([cookie])
    mine, theirs = first.new_page(), second.new_page()
    mine.goto(server("/studio/"))
    mine.get_by_label("空白问卷").check()
    mine.get_by_label("标题").fill("两人同时")
    mine.get_by_label("网址标识（slug）").fill("both")
    mine.get_by_role("button", name="创建").click()
    theirs.goto(server("/studio/both/?q=Q1"))

    mine.locator("textarea[name='q-label_zh-hans']").fill("我的标题")
    save(mine)
    expect(mine.locator(".studio-messages")).to_contain_text("已保存到草稿：Q1")

    theirs.locator("textarea[name='q-label_zh-hans']").fill("他们的标题")
    expect(theirs.locator("[data-autosave-status]")).to_contain_text("其他人修改了这份问卷")
    save(theirs)
    expect(theirs.locator("[data-conflict]")).to_be_visible()
    mine.reload()
    expect(mine.locator("#outline-Q1")).to_contain_text("我的标题")
