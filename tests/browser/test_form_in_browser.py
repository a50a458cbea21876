"""The respondent form in headless Chromium, on a phone-sized screen inside WeChat (by its
user agent), against the app served as in production (see conftest.py)."""

from __future__ import annotations

import pytest

from survey.models import Response
from tests.browser.conftest import PHONE, WECHAT_UA
from tests.browser.helpers import answer, answer_section, fill_by_script, next_section
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORM = "/s/ipb-survey/"
DRAFT_KEY = "wenji:draft:ipb-survey"


def expected_answers() -> dict:
    return complete_answers(
        D6=8, **{"D6.other": "行业协会"}, Q15=1, Q15R="线下组织生活更扎实", Q18="希望页面更快"
    )


def errors_on_page(page) -> list[str]:
    return page.eval_on_selector_all(".err:not([hidden])", "els => els.map(e => e.innerText)")


def test_a_respondent_fills_the_whole_questionnaire_on_a_phone(ipb, server, phone, artifacts):
    answers = expected_answers()
    page = phone.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(server(FORM))
    page.screenshot(path=str(artifacts / "form-first-screen.png"))
    assert page.is_visible("#s-A") and not page.is_visible("#s-B")
    # progress by question: answered of those asked (Q15R is asked only if Q15 == 1)
    assert page.inner_text("#wf-progress-text") == "已答 0 / 24"

    # Next without answering: errors beside the questions and a summary that gets focus.
    next_section(page)
    assert page.is_visible("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert len(errors_on_page(page)) == 6
    assert "第 1 题：此题为必答题。" in page.inner_text("#error-summary")
    assert page.is_visible("#s-A")

    # The "other" box appears with its option.
    assert not page.is_visible("#o-D6")
    answer_section(page, "A", answers)
    assert page.is_visible("#o-D6")
    next_section(page)
    assert page.is_visible("#s-B") and not page.is_visible("#error-summary")
    assert page.inner_text("#wf-progress-text") == "已答 6 / 24"
    assert page.get_attribute("#wf-progress-bar", "value") == "6"
    answer_section(page, "B", answers)
    next_section(page)

    # A matrix question: one row per item under its scale.
    page.locator("#i-Q5-a").screenshot(path=str(artifacts / "form-matrix-row.png"))
    page.screenshot(path=str(artifacts / "form-matrix-screen.png"))
    answer(page, "Q5", answers["Q5"])
    answer(page, "Q17", answers["Q17"])

    # An accidental reload mid-way: the draft comes back, on the section it was on.
    page.wait_for_timeout(400)  # the draft is saved a moment after the last change
    page.reload()
    assert page.is_visible("#wf-restored")
    assert "已恢复你上次未完成的答卷" in page.inner_text("#wf-restored")
    # at the top of the form, above its title
    assert page.evaluate(
        "document.getElementById('wf-restored').compareDocumentPosition("
        "document.querySelector('main h1')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert page.is_visible("#s-C")
    assert page.is_checked('#i-Q5-c input[value="2"]')
    assert page.is_checked('#q-D6 input[value="8"]')
    assert page.input_value("#o-D6") == "行业协会"
    assert page.input_value("#i-Q2-d") == "5"
    answer_section(page, "C", answers)
    next_section(page)

    # Skip logic: Q15R is asked only when Q15 == 1.
    assert not page.is_visible("#q-Q15R")
    assert page.is_disabled("#f-Q15R")
    answer(page, "Q15", 1)
    assert page.is_visible("#q-Q15R") and page.is_enabled("#f-Q15R")
    assert page.inner_text("#wf-progress-text").endswith(" / 25")
    page.fill("#f-Q15R", answers["Q15R"])
    assert page.inner_text("#q-Q15R-count") == f"{len(answers['Q15R'])}/500 字"
    answer(page, "Q15", 2)
    assert not page.is_visible("#q-Q15R")
    answer_section(page, "D", answers)
    assert page.is_visible("#q-Q15R") and page.input_value("#f-Q15R") == answers["Q15R"]
    assert page.is_visible("#wf-submit")

    page.click("#wf-submit")
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    page.screenshot(path=str(artifacts / "form-thanks.png"))
    assert page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')") is None
    stored = Response.objects.get()
    assert stored.answers == answers
    assert stored.channel == "wechat"
    assert problems == []


def test_choice_limits_and_exclusive_options_apply_as_the_respondent_taps(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    answers = complete_answers()
    fill_by_script(page, {code: answers[code] for code in ("D1", "D2", "D3", "D4", "D5", "D6")})
    next_section(page)
    fill_by_script(page, {code: answers[code] for code in ("Q2", "Q3", "Q4", "Q1")})
    next_section(page)
    for option in ("1", "2", "3"):
        page.check(f'#q-Q8 input[value="{option}"]')
    assert page.is_disabled('#q-Q8 input[value="4"]')
    assert page.is_enabled('#q-Q8 input[value="1"]')
    assert "3" in page.inner_text("#q-Q8-limit")
    page.uncheck('#q-Q8 input[value="2"]')
    assert page.is_enabled('#q-Q8 input[value="4"]')
    assert page.inner_text("#q-Q8-limit") == ""

    page.check('#q-Q9 input[value="1"]')
    page.check('#q-Q9 input[value="4"]')
    page.check('#q-Q9 input[value="7"]')  # "no concerns" is exclusive
    checked = page.eval_on_selector_all("#q-Q9 input:checked", "els => els.map(e => e.value)")
    assert checked == ["7"]
    page.check('#q-Q9 input[value="2"]')
    checked = page.eval_on_selector_all("#q-Q9 input:checked", "els => els.map(e => e.value)")
    assert checked == ["2"]


def test_tapping_submit_twice_quickly_sends_once(ipb, server, phone):
    page = phone.new_page()
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    page.goto(server(FORM))
    fill_by_script(page, complete_answers())
    for _ in range(3):
        next_section(page)
    page.locator("#wf-submit").dblclick()
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    assert len(posts) == 1
    assert Response.objects.count() == 1


def test_the_back_button_after_sending_stores_nothing_more(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    fill_by_script(page, complete_answers())
    for _ in range(3):
        next_section(page)
    page.click("#wf-submit")
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    page.go_back()
    page.wait_for_selector("text=您已填写过本问卷")
    page.reload()
    page.wait_for_selector("text=您已填写过本问卷")
    assert Response.objects.count() == 1


def test_a_reload_of_the_thank_you_page_stores_nothing_more(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    fill_by_script(page, complete_answers())
    for _ in range(3):
        next_section(page)
    page.click("#wf-submit")
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    page.reload()
    assert "感谢您的参与" in page.inner_text("h1")
    assert Response.objects.count() == 1


def test_server_errors_bring_the_respondent_to_the_first_question_in_error(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    answers = complete_answers()
    answers["Q2"] = {"a": 1, "b": 2, "c": 3, "d": 4}
    fill_by_script(page, answers)
    for _ in range(3):
        next_section(page)
    # Past what the script allows (it disables boxes at the limit), as an old browser might.
    page.evaluate(
        """() => {
          for (const box of document.querySelectorAll('#q-Q8 input[type=checkbox]')) {
            if ('1234'.includes(box.value)) { box.disabled = false; box.checked = true; }
          }
        }"""
    )
    page.evaluate("document.getElementById('wf').submit()")
    page.wait_for_selector("#error-summary:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.is_visible("#q-Q8") and page.is_visible("#s-C")
    assert "最多只能选择 3 项" in page.inner_text("#q-Q8-err")
    assert Response.objects.count() == 0
    for option in ("2", "3", "4"):
        page.uncheck(f'#q-Q8 input[value="{option}"]')
    next_section(page)
    page.click("#wf-submit")
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    assert Response.objects.count() == 1


def test_with_javascript_off_the_whole_form_is_one_page_that_submits(
    ipb, server, new_context, artifacts
):
    context = new_context(
        viewport={"width": 375, "height": 667}, user_agent=WECHAT_UA, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(server(FORM))
    for section in "ABCD":
        assert page.is_visible(f"#s-{section}")
    assert page.is_visible("#o-D6") and page.is_visible("#q-Q15R")
    page.click("#wf-submit")  # nothing answered
    assert page.is_visible("#error-summary")
    assert "Question 1: This question is required." in page.inner_text("#error-summary")
    answers = expected_answers()
    for section in "ABCD":
        answer_section(page, section, answers)
    page.fill("#i-Q2-a", "many")
    page.click("#wf-submit")
    assert "Enter a number, such as 12." in page.inner_text("#i-Q2-a-err")
    assert page.input_value("#i-Q2-a") == "many"
    assert page.is_checked('#i-Q7-g input[value="1"]')
    assert page.input_value("#o-D6") == "行业协会"
    page.fill("#i-Q2-a", "3")
    page.screenshot(path=str(artifacts / "form-no-javascript.png"))
    page.click("#wf-submit")
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    assert Response.objects.get().answers == answers


@pytest.mark.parametrize("javascript", [True, False])
@pytest.mark.parametrize(
    ("width", "language"),
    [(320, "zh-CN"), (320, "en"), (188, "zh-CN")],  # 188: a 375-pixel phone at 200% zoom
)
def test_nothing_scrolls_sideways_on_a_narrow_screen(
    ipb, server, new_context, javascript, width, language
):
    context = new_context(
        viewport={"width": width, "height": 640},
        user_agent=WECHAT_UA,
        java_script_enabled=javascript,
        locale=language,
    )
    page = context.new_page()
    page.goto(server(FORM))
    widths = [page.evaluate("document.documentElement.scrollWidth")]
    if javascript:
        page.click(".sec.current [data-go=next]")
    else:
        with page.expect_navigation():  # the click submits: measure the page that comes back
            page.click("#wf-submit")
    widths.append(page.evaluate("document.documentElement.scrollWidth"))
    if javascript:
        for section in "BCD":  # every screen, with its errors showing
            page.evaluate(
                f"document.querySelectorAll('.sec').forEach(s => "
                f"s.classList.toggle('current', s.id === 's-{section}'))"
            )
            widths.append(page.evaluate("document.documentElement.scrollWidth"))
    assert max(widths) <= width, widths


def test_every_input_is_at_least_16px_and_every_option_row_at_least_44px(ipb, server, new_context):
    # Without the script every section is on the page at once, so every control is measured.
    context = new_context(viewport=PHONE, user_agent=WECHAT_UA, java_script_enabled=False)
    page = context.new_page()
    page.goto(server(FORM))
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, button')]
             .filter(e => e.offsetParent !== null)
             .map(e => parseFloat(getComputedStyle(e).fontSize))"""
    )
    assert sizes and min(sizes) >= 16
    rows = page.evaluate(
        "() => [...document.querySelectorAll('.opt')].map(e => e.getBoundingClientRect().height)"
    )
    assert len(rows) > 150 and min(rows) >= 44
    pinned = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
             .filter(e => ['fixed', 'sticky'].includes(getComputedStyle(e).position))
             .map(e => e.className)"""
    )
    # nothing covers the page, but a matrix's scale header stays in view over its own rows
    assert pinned == ["scale-head"] * 3
    cells = page.evaluate(
        """() => [...document.querySelectorAll('.matrix.compact .card .opt')]
             .map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])"""
    )
    assert len(cells) == 4 * (5 + 6 + 7) and min(min(cell) for cell in cells) >= 44


def test_the_language_switch_shows_the_form_in_english(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    assert "您的性别" in page.inner_text("#q-D1")
    page.click("button[name=language][value=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.url == server(FORM)
    assert "Gender" in page.inner_text("#q-D1")
    assert page.is_visible("button[name=language][value=zh-hans]")


CONTRAST = """() => {
  const luminance = rgb => {
    const [r, g, b] = rgb.map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = text => text.match(/[\\d.]+/g).map(Number);
  const background = element => {
    for (let e = element; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const e of document.querySelectorAll("body *")) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || e.offsetParent === null) continue;
    const style = getComputedStyle(e);
    const fg = luminance(parse(style.color).slice(0, 3)), bg = luminance(background(e));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) failures.push([e.tagName, e.className, ratio.toFixed(2)]);
  }
  return failures;
}"""


def test_text_meets_aa_contrast_including_errors_and_disabled_options(ipb, server, new_context):
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server(FORM))
    page.click("#wf-submit")  # every error showing
    assert page.evaluate(CONTRAST) == []
    scripted = new_context().new_page()
    scripted.goto(server(FORM))
    answers = complete_answers()
    fill_by_script(scripted, {code: answers[code] for code in ("D1", "D2", "D3", "D4", "D5", "D6")})
    next_section(scripted)
    fill_by_script(scripted, {code: answers[code] for code in ("Q2", "Q3", "Q4", "Q1")})
    next_section(scripted)
    fill_by_script(scripted, {"Q8": [1, 2, 3]})  # the rest disabled, with the limit note
    assert scripted.is_disabled('#q-Q8 input[value="5"]')
    assert scripted.evaluate(CONTRAST) == []
    # The check itself sees a pale grey line for what it is.
    scripted.evaluate(
        """() => { const p = document.createElement('p'); p.className = 'pale';
                   p.textContent = 'pale'; p.style.color = '#aaa';
                   document.querySelector('main').appendChild(p); }"""
    )
    assert scripted.evaluate(CONTRAST) == [["P", "pale", "2.32"]]


def test_the_reference_form_without_script_is_at_most_twelve_phone_screens(
    ipb, server, new_context, artifacts
):
    context = new_context(
        viewport=PHONE, user_agent=WECHAT_UA, java_script_enabled=False, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(server(FORM))
    screens = page.evaluate("document.documentElement.scrollHeight") / PHONE["height"]
    assert screens <= 12, screens  # 21.6 with one card per matrix item and one option a row
    row = page.locator("#i-Q5-a").bounding_box()  # the item's label beside its four radios
    radio = page.locator("#i-Q5-a input").first.bounding_box()
    assert row["height"] < 70 and radio["y"] < row["y"] + row["height"] / 2 + 12
    page.locator("#q-Q5").screenshot(path=str(artifacts / "form-matrix-rows.png"))


def test_below_340px_a_matrix_is_one_card_per_item_again(ipb, server, new_context):
    context = new_context(
        viewport={"width": 320, "height": 640}, user_agent=WECHAT_UA, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(server(FORM))
    assert not page.locator("#q-Q5 .scale-head").is_visible()
    assert page.locator("#i-Q5-a .opt span").first.is_visible()  # each point named beside it


def test_with_the_script_errors_name_the_item_and_a_chosen_other_needs_its_text(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    answers = {**complete_answers(), "D6": 8}
    answers.pop("D6.other", None)
    answer_section(page, "A", answers)
    next_section(page)
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert "请注明“其他”的具体内容。" in summary.inner_text()
    assert page.locator("#o-D6-err").inner_text() == "请注明“其他”的具体内容。"
    answer(page, "D6.other", "协会")
    next_section(page)
    answer_section(page, "B", complete_answers())
    next_section(page)
    answer_section(page, "C", {**complete_answers(), "Q5": {"a": 1, "c": 2, "d": 1, "e": 1}})
    next_section(page)
    assert "第 2 项“学习便捷度”尚未作答。" in summary.inner_text()
    assert page.locator("#i-Q5-b .err").inner_text() == "第 2 项“学习便捷度”尚未作答。"


def test_start_over_asks_first_and_then_clears_the_draft(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    answer(page, "D1", 2)
    page.wait_for_timeout(400)  # the draft is saved a moment after the last change
    page.reload()
    assert page.is_visible("#wf-restored") and page.is_checked('#q-D1 input[value="2"]')
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#wf-clear")
    assert page.is_checked('#q-D1 input[value="2"]')  # "no": nothing is cleared
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#wf-clear")
    assert not page.is_checked('#q-D1 input[value="2"]') and not page.is_visible("#wf-restored")
    page.reload()
    assert not page.is_visible("#wf-restored")  # the draft is gone
