"""A form that comes back after it was sent (the back button, the back/forward cache, a
reload) never sends the same answers as a new response."""

from __future__ import annotations

import pytest

from survey.models import Response
from survey.services.questionnaires import questionnaire_import, questionnaire_publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def any_number_of_responses() -> dict:
    """A one-question questionnaire anyone may answer any number of times."""
    return {
        "format": "questionnaire/v1",
        "slug": "open-poll",
        "languages": ["en"],
        "title": "Open poll",
        "settings": {"one_response_per": "none"},
        "sections": [
            {
                "code": "A",
                "title": "Poll",
                "questions": [
                    {
                        "code": "P",
                        "type": "single",
                        "label": "Tea or coffee?",
                        "options": [{"code": 1, "label": "Tea"}, {"code": 2, "label": "Coffee"}],
                    }
                ],
            }
        ],
    }


@pytest.fixture
def poll(transactional_db):
    return questionnaire_publish(
        questionnaire=questionnaire_import(definition=any_number_of_responses())
    )


def test_back_after_sending_shows_a_fresh_form_not_the_sent_one(poll, server, phone):
    page = phone.new_page()
    page.goto(server("/s/open-poll/"))
    sent_id = page.input_value("input[name=submission_id]")
    page.check('input[name=P][value="2"]')
    page.click("#wf-submit")
    page.wait_for_url(server("/s/open-poll/thanks/"))
    page.go_back()
    page.wait_for_selector("#wf-submit:enabled")
    page.wait_for_function(f"document.querySelector('[name=submission_id]').value !== '{sent_id}'")
    # Restored from the back/forward cache, the script saw its id was sent and reloaded;
    # otherwise the browser fetched the page again. Either way: a new id, nothing sent.
    navigation = page.evaluate("performance.getEntriesByType('navigation')[0].type")
    print("navigation after back:", navigation)
    assert navigation in ("reload", "back_forward"), navigation
    assert Response.objects.count() == 1
    assert not page.is_checked('input[name=P][value="2"]')  # the sent draft was cleared


def test_a_page_restored_from_the_back_forward_cache_reloads_if_its_form_was_sent(
    poll, server, phone
):
    page = phone.new_page()
    page.goto(server("/s/open-poll/"))
    sent_id = page.input_value("input[name=submission_id]")
    page.check('input[name=P][value="1"]')
    # What the script does on submit, then what the browser does when it shows a cached
    # snapshot of this page again:
    page.evaluate(f"localStorage.setItem('wenji:sent', JSON.stringify(['{sent_id}']))")
    with page.expect_navigation():
        page.evaluate(
            "window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))"
        )
    assert page.input_value("input[name=submission_id]") != sent_id
    assert Response.objects.count() == 0


def test_a_page_shown_again_after_an_unsent_form_keeps_its_answers(poll, server, phone):
    page = phone.new_page()
    page.goto(server("/s/open-poll/"))
    page.check('input[name=P][value="1"]')
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    page.wait_for_timeout(300)
    assert page.is_checked('input[name=P][value="1"]')
