"""POST /s/<slug>/: what is stored, what is refused, and what the respondent sees."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from survey.form_logic import START_TOKEN_SALT
from survey.models import Respondent, Response
from survey.services.identity import (
    DEVICE_COOKIE_NAME,
    Identity,
    device_id_from_cookie,
    identity_hash,
)
from survey.services.questionnaires import questionnaire_close, questionnaire_import
from tests.survey.answers import complete_answers
from tests.survey.form.helpers import (
    FORM_URL,
    elements,
    hidden_fields,
    markup,
    open_form,
    post_data,
)
from wenji.hashing import ip_hash

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
THANKS = "/s/ipb-survey/thanks/"


def test_a_complete_answer_is_stored_once_and_the_browser_is_sent_to_thank_you(ipb, client):
    page, fields = open_form(client)
    before = timezone.now()
    response = client.post(FORM_URL, post_data(complete_answers(), fields))
    assert response.status_code == 303
    assert response["Location"] == THANKS
    stored = Response.objects.get()
    assert str(stored.submission_id) == fields["submission_id"]
    assert stored.answers == complete_answers()
    assert stored.channel == "web"
    device_id = device_id_from_cookie(page.cookies[DEVICE_COOKIE_NAME].value)
    assert stored.respondent.identity_hash == identity_hash(Identity("device", device_id))
    assert stored.respondent.kind == Respondent.Kind.DEVICE
    assert stored.ip_hash == ip_hash("127.0.0.1")
    assert before - timedelta(seconds=2) <= stored.started_at <= stored.submitted_at


def test_the_start_time_comes_from_the_signed_token_not_from_the_client(ipb, client):
    with pytest.MonkeyPatch.context() as patch:
        earlier = timezone.now() - timedelta(minutes=7)
        patch.setattr("survey.views.timezone.now", lambda: earlier)
        _page, fields = open_form(client)
    body = post_data(complete_answers(), fields) | {"started_at": "2001-01-01T00:00:00Z"}
    client.post(FORM_URL, body)
    stored = Response.objects.get()
    assert abs((stored.started_at - earlier).total_seconds()) < 1
    assert 7 * 60 - 2 < stored.duration_seconds < 7 * 60 + 5


def test_inside_wechat_without_wechat_configured_the_channel_is_wechat(ipb, client):
    wechat = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.47"}
    _page, fields = open_form(client, **wechat)
    client.post(FORM_URL, post_data(complete_answers(), fields), **wechat)
    stored = Response.objects.get()
    assert stored.channel == "wechat"
    assert stored.respondent.kind == Respondent.Kind.DEVICE


def test_a_double_tap_or_a_resent_post_stores_one_response(ipb, client):
    _page, fields = open_form(client)
    body = post_data(complete_answers(), fields)
    first = client.post(FORM_URL, body)
    second = client.post(FORM_URL, body)
    assert first.status_code == second.status_code == 303
    assert second["Location"] == THANKS
    assert Response.objects.count() == 1


def test_the_thank_you_page_reveals_no_answers_and_a_refresh_stores_nothing(ipb, client):
    answers = complete_answers(D6=8, **{"D6.other": "行业协会秘书处"}, Q18="我的私人意见")
    _page, fields = open_form(client)
    client.post(FORM_URL, post_data(answers, fields))
    for _ in range(2):
        thanks = client.get(THANKS, **EN)
        assert thanks.status_code == 200
        assert thanks["Cache-Control"] == "private, no-cache"
        html = thanks.content.decode()
        assert "Thank you" in html
        assert "行业协会秘书处" not in html and "我的私人意见" not in html
    assert Response.objects.count() == 1


def test_the_same_respondent_cannot_send_a_second_response(ipb, client):
    _page, fields = open_form(client)
    client.post(FORM_URL, post_data(complete_answers(), fields))
    # An old tab of the same phone, opened before the first was sent, with its own id:
    other = {"start_token": "", "submission_id": ""}
    other |= hidden_fields(Client().get(FORM_URL).content.decode())
    response = client.post(FORM_URL, post_data(complete_answers(D1=2), other), **EN)
    assert response.status_code == 200
    assert "You have already answered" in response.content.decode()
    assert Response.objects.count() == 1


def test_errors_show_beside_each_question_with_a_summary_and_every_answer_is_kept(ipb, client):
    answers = complete_answers(
        D6=8, **{"D6.other": "协会"}, Q2={"a": "12", "b": "abc", "c": "3", "d": "4"}, Q15=1
    )
    del answers["D1"]
    answers["Q8"] = [1, 2, 3, 4]
    answers["Q15R"] = "因为实体组织更重要"
    _page, fields = open_form(client)
    response = client.post(FORM_URL, post_data(answers, fields), **EN)
    html = markup(response)
    assert response.status_code == 200
    assert Response.objects.count() == 0
    summary = html[html.index('id="error-summary"') : html.index("</ul>")]
    assert 'role="alert"' in summary
    assert '<a href="#q-D1">Question 1: This question is required.</a>' in summary
    assert 'href="#i-Q2-b"' in summary and "Enter a number, such as 12." in summary
    assert 'href="#q-Q8"' in summary and "Choose at most 3 options." in summary
    assert "hidden" not in summary.split(">", 1)[0]
    # beside the questions, linked for screen readers
    assert '<p class="err" id="q-D1-err"><span>This question is required.</span></p>' in html
    assert 'aria-describedby="q-D1-err"' in html
    assert 'aria-describedby="q-Q2-hint i-Q2-b-err"' in html
    # every answer kept, including the unreadable number and the other text
    inputs = {(a.get("name"), a.get("value")): a for a in elements(html, "input")}
    assert "checked" in inputs[("D6", "8")]
    assert inputs[("D6.other", "协会")]
    assert inputs[("Q2.b", "abc")] and inputs[("Q2.a", "12")]
    assert all("checked" in inputs[("Q8", code)] for code in "1234")
    assert "checked" in inputs[("Q5.c", "2")]
    assert ">因为实体组织更重要</textarea>" in html


def test_a_number_that_is_not_a_number_says_so_rather_than_required(ipb, client):
    answers = complete_answers(Q2={"a": "x", "b": "y", "c": "z", "d": "w"})
    _page, fields = open_form(client)
    html = markup(client.post(FORM_URL, post_data(answers, fields), **EN))
    assert "This question is required." not in html
    assert html.count("Enter a number, such as 12.") == 2 * 4  # beside each box and in the summary


def test_full_width_digits_from_a_chinese_keyboard_are_numbers(ipb, client):
    answers = complete_answers(Q2={"a": "１２", "b": " 3 ", "c": "0", "d": "99"})
    _page, fields = open_form(client)
    assert client.post(FORM_URL, post_data(answers, fields)).status_code == 303
    assert Response.objects.get().answers["Q2"] == {"a": 12, "b": 3, "c": 0, "d": 99}


def test_an_answer_to_a_question_hidden_by_skip_logic_is_dropped(ipb, client):
    answers = complete_answers(Q15=2, Q15R="只在选择认同时才问")
    _page, fields = open_form(client)
    assert client.post(FORM_URL, post_data(answers, fields)).status_code == 303
    assert "Q15R" not in Response.objects.get().answers


def test_the_skip_logic_question_is_stored_when_shown(ipb, client):
    answers = complete_answers(Q15=1, Q15R="实体党建更扎实")
    _page, fields = open_form(client)
    client.post(FORM_URL, post_data(answers, fields))
    assert Response.objects.get().answers["Q15R"] == "实体党建更扎实"


def test_a_tampered_start_token_shows_the_form_again_with_a_message(ipb, client):
    _page, fields = open_form(client)
    fields["start_token"] = fields["start_token"][:-3] + "abc"
    response = client.post(FORM_URL, post_data(complete_answers(), fields), **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This form could not be checked." in html
    assert 'role="alert">This form could not be checked.' in html
    assert Response.objects.count() == 0
    renewed = hidden_fields(html)
    assert renewed["submission_id"] != fields["submission_id"]
    assert 'value="2" checked' in html  # the answers are still there
    # and the renewed form goes through
    assert client.post(FORM_URL, post_data(complete_answers(), renewed)).status_code == 303


def test_a_token_made_up_by_the_client_is_refused(ipb, client):
    forged = signing.dumps({"s": "ipb-survey", "i": uuid.uuid4().hex, "t": 0}, salt="other")
    fields = {"start_token": forged, "submission_id": str(uuid.uuid4())}
    response = client.post(FORM_URL, post_data(complete_answers(), fields), **EN)
    assert "This form could not be checked." in response.content.decode()
    assert Response.objects.count() == 0


def test_a_token_of_another_questionnaire_is_refused(ipb, client, reference_definition):
    reference_definition["slug"] = "another"
    other = questionnaire_import(definition=reference_definition)
    other.publish()
    _page, fields = open_form(client, "/s/another/")
    response = client.post(FORM_URL, post_data(complete_answers(), fields), **EN)
    assert "This form could not be checked." in response.content.decode()
    assert Response.objects.count() == 0


def test_an_expired_start_token_shows_the_form_again_keeping_its_id(ipb, client, settings):
    _page, fields = open_form(client)
    settings.FORM_START_TOKEN_MAX_AGE = -1  # every token is already too old
    response = client.post(FORM_URL, post_data(complete_answers(), fields), **EN)
    html = response.content.decode()
    assert "This form was open for a long time." in html
    assert Response.objects.count() == 0
    renewed = hidden_fields(html)
    assert renewed["submission_id"] == fields["submission_id"]
    settings.FORM_START_TOKEN_MAX_AGE = 3600
    assert client.post(FORM_URL, post_data(complete_answers(), renewed)).status_code == 303
    token = signing.loads(renewed["start_token"], salt=START_TOKEN_SALT)
    assert int(Response.objects.get().started_at.timestamp()) == token["t"]


def test_sending_the_same_form_again_with_other_answers_asks_to_send_a_new_response(
    ipb, client, reference_definition
):
    _page, fields = open_form(client)
    client.post(FORM_URL, post_data(complete_answers(), fields))
    # A second phone cannot reuse the first one's id for different answers.
    stranger = Client()
    response = stranger.post(FORM_URL, post_data(complete_answers(D1=2), fields), **EN)
    html = response.content.decode()
    assert "This form was already sent once." in html
    assert hidden_fields(html)["submission_id"] != fields["submission_id"]
    assert Response.objects.count() == 1


def test_a_questionnaire_closed_while_someone_was_answering_shows_closed(ipb, client):
    _page, fields = open_form(client)
    questionnaire_close(questionnaire=ipb)
    response = client.post(FORM_URL, post_data(complete_answers(), fields), **EN)
    assert response.status_code == 410
    assert Response.objects.count() == 0


def test_the_form_refuses_a_post_without_the_csrf_token(ipb):
    strict = Client(enforce_csrf_checks=True)
    _page, fields = open_form(strict)
    response = strict.post(FORM_URL, post_data(complete_answers(), fields))
    assert response.status_code == 403
    assert Response.objects.count() == 0


def test_the_form_accepts_a_post_with_the_csrf_token(ipb):
    strict = Client(enforce_csrf_checks=True)
    page, fields = open_form(strict)
    token = next(
        a["value"]
        for a in elements(page.content.decode(), "input")
        if a.get("name") == "csrfmiddlewaretoken"
    )
    body = post_data(complete_answers(), fields) | {"csrfmiddlewaretoken": token}
    assert strict.post(FORM_URL, body).status_code == 303


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "127.0.0.1"),  # no trusted proxy: the header is ignored
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the one our proxy appended
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (1, "not-an-address", None),
    ],
)
def test_the_client_address_is_taken_from_forwarded_for_only_behind_trusted_proxies(
    ipb, client, settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    _page, fields = open_form(client)
    client.post(FORM_URL, post_data(complete_answers(), fields), HTTP_X_FORWARDED_FOR=forwarded)
    assert Response.objects.get().ip_hash == ip_hash(expected)


@pytest.mark.parametrize(
    "junk",
    [
        {"D1": "99"},
        {"D1": ["1", "2"]},
        {"Q8": ["1", "1"]},
        {"Q9": ["7", "1"]},
        {"Q5.zz": "1"},
        {"Q5.a": "<script>"},
        {"Q2.a": "1e400"},
        {"Q2.a": "-0"},
        {"Q2.a": "99999999999999999999999"},
        {"Q18": "x" * 10_000},
        {"Q18": "控制\x00字符"},
        {"D6.other": "not other"},
        {"nonsense": "ignored", "Q1": "１"},
    ],
)
def test_malformed_posts_get_a_page_never_a_server_error(ipb, client, junk):
    _page, fields = open_form(client)
    body = post_data(complete_answers(), fields) | junk
    response = client.post(FORM_URL, body, **EN)
    assert response.status_code in (200, 303)
    if response.status_code == 200:
        assert 'id="error-summary"' in response.content.decode()
        assert Response.objects.count() == 0


def test_a_post_without_any_token_gets_the_form_again(ipb, client):
    response = client.post(FORM_URL, {"D1": "1"}, **EN)
    assert response.status_code == 200
    assert "This form could not be checked." in response.content.decode()
    assert Response.objects.count() == 0


def test_the_chinese_summary_names_items_and_other_boxes_in_chinese(ipb, client):
    answers = complete_answers(
        D6=1, **{"D6.other": "协会"}, Q2={"a": "1", "b": "x", "c": "3", "d": "4"}
    )
    _page, fields = open_form(client)
    page = markup(client.post(FORM_URL, post_data(answers, fields), HTTP_ACCEPT_LANGUAGE="zh-CN"))
    summary = page[page.index('id="error-summary"') : page.index("</ul>")]
    lines = [html.unescape(line) for line in re.findall(r"<a href=[^>]*>([^<]*)</a>", summary)]
    assert len(lines) == 2, lines
    other, item = lines
    assert other.startswith("第 6 题（其他）：") and "other" not in other
    assert item.startswith("第 7 题（") and "）：" in item
    assert all(" (" not in line and ": " not in line for line in lines)
