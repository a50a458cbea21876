"""An axe-core audit (the engine behind Lighthouse's accessibility score) of the respondent
form as a phone in WeChat sees it: the first page, the error state, the form without script,
and the end pages. No serious or critical violation is allowed; the audit's findings are
printed so a failure says what and where. Also: the whole form is operable by keyboard."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from survey.services.questionnaires import questionnaire_close
from survey.services.responses import response_submit
from tests.browser.conftest import PHONE, WECHAT_UA
from tests.browser.helpers import next_section
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
FORM = "/s/ipb-survey/"


@pytest.fixture
def audited(new_context):
    """A phone in WeChat whose pages let the test inject axe (the CSP forbids inline script:
    the page's own policy is bypassed for the audit only)."""
    return new_context(viewport=PHONE, user_agent=WECHAT_UA, locale="zh-CN", bypass_csp=True)


def audit(page) -> list[str]:
    """The serious and critical violations of the page as it is now, one line each."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => await axe.run(document, {
             resultTypes: ["violations"],
             runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                             "best-practice"]}})"""
    )
    found = []
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            found.append(f"{violation['impact']} {violation['id']}: {'; '.join(targets)}")
    return found


def test_the_first_page_and_its_error_state_have_no_serious_violation(ipb, server, audited):
    page = audited.new_page()
    page.goto(server(FORM))
    assert audit(page) == []
    next_section(page)  # nothing answered: errors beside each question and a summary
    assert page.is_visible("#error-summary")
    assert audit(page) == []


def test_the_form_without_script_has_no_serious_violation(ipb, server, audited):
    # axe needs script: the page is audited with the form's own script kept from loading
    scripted = audited.new_page()
    scripted.route("**/static/survey/form*.js", lambda route: route.abort())
    scripted.goto(server(FORM))
    assert scripted.locator("html.js").count() == 0  # as without script: every section shown
    assert audit(scripted) == []


def test_the_end_pages_have_no_serious_violation(ipb, server, audited):
    response_submit(
        questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="web"
    )
    page = audited.new_page()
    page.goto(server(FORM + "thanks/"))
    assert audit(page) == []
    questionnaire_close(questionnaire=ipb)
    page.goto(server(FORM))
    assert audit(page) == []


def test_every_control_of_the_first_section_is_reached_and_operated_by_keyboard(ipb, server, phone):
    page = phone.new_page()
    page.goto(server(FORM))
    reached = set()
    for _step in range(80):
        page.keyboard.press("Tab")
        name = page.evaluate("document.activeElement.name || document.activeElement.id")
        reached.add(name)
        if name == "D1":
            page.keyboard.press("Space")  # a radio group is chosen with the keyboard
    assert {"D1", "D2", "D3", "D4", "D5", "D6"} <= reached
    assert page.is_checked('#q-D1 input[value="1"]')


def test_the_audit_finds_what_it_should(ipb, server, audited):
    """The audit itself works: a picture without text and an unlabelled box are caught."""
    page = audited.new_page()
    page.goto(server(FORM))
    page.evaluate(
        """() => {
          document.querySelector("main").insertAdjacentHTML(
            "afterbegin", '<img src="/static/x.png"><input type="text" name="stray">');
        }"""
    )
    found = " ".join(audit(page))
    assert "image-alt" in found and "label" in found
