"""What GET /s/<slug>/ shows, to whom, and how it is cached."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from django.contrib.auth import get_user_model

from survey.models import Question, Response
from survey.services.identity import (
    DEVICE_COOKIE_NAME,
    Identity,
    device_cookie_value,
)
from survey.services.questionnaires import questionnaire_close
from survey.services.responses import response_submit
from tests.survey.answers import complete_answers
from tests.survey.form.helpers import FORM_URL, elements, hidden_fields, post_data

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("editor", password="x", is_staff=True)
    client.force_login(user)
    return client


def test_an_open_questionnaire_shows_title_intro_privacy_notice_and_every_question(ipb, client):
    response = client.get(FORM_URL, **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Grassroots Party members&#x27; evaluation" in html
    assert "takes about 8 minutes" in html
    assert "About your privacy" in html
    assert "hashed" in html and "statistics" in html
    for code in Question.objects.filter(questionnaire=ipb).values_list("code", flat=True):
        assert f'id="q-{code}"' in html
    assert html.count('class="sec"') == 4


def test_labels_follow_the_respondents_language(ipb, client):
    chinese = client.get(FORM_URL, **ZH).content.decode()
    english = client.get(FORM_URL, **EN).content.decode()
    assert '<html lang="zh-hans">' in chinese and "您的性别" in chinese
    assert '<html lang="en">' in english and "Gender" in english
    # A language switch offers the other language, as a POST to Django's set_language.
    assert 'name="language" value="en"' in chinese
    assert 'name="language" value="zh-hans"' in english


def test_the_page_is_private_not_cached_and_gzipped_when_the_browser_accepts_it(ipb, client):
    response = client.get(FORM_URL, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert b"<form" in gzip.decompress(response.content)


def test_the_first_visit_sets_a_long_lived_http_only_device_cookie(ipb, client):
    response = client.get(FORM_URL)
    cookie = response.cookies[DEVICE_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["secure"]  # tests run with DEBUG off
    assert int(cookie["max-age"]) >= 365 * 24 * 3600
    again = client.get(FORM_URL)
    assert DEVICE_COOKIE_NAME not in again.cookies  # kept, not replaced


def test_the_form_is_drawn_from_the_cached_structure_in_a_few_queries(
    ipb, client, django_assert_max_num_queries
):
    client.get(FORM_URL)  # the device cookie and the cached structure
    with django_assert_max_num_queries(3):
        assert client.get(FORM_URL).status_code == 200


def test_an_unknown_questionnaire_is_not_found(ipb, client):
    assert client.get("/s/nope/").status_code == 404
    assert client.get("/s/nope/thanks/").status_code == 404


def test_a_draft_is_not_found_by_the_public(ipb_draft, client):
    assert client.get(FORM_URL).status_code == 404
    assert client.post(FORM_URL, {}).status_code == 404
    assert client.get("/s/ipb-survey/thanks/").status_code == 404
    assert client.get("/s/ipb-survey/qr.svg").status_code == 404


def test_staff_preview_a_draft_and_a_preview_stores_nothing(ipb_draft, staff_client):
    response = staff_client.get(FORM_URL, **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview — submissions are not accepted." in html
    fields = hidden_fields(html)
    posted = staff_client.post(FORM_URL, post_data(complete_answers(), fields), **EN)
    assert posted.status_code == 200
    assert "these answers are valid. Nothing was stored." in posted.content.decode()
    assert Response.objects.count() == 0


def test_a_closed_questionnaire_says_so_with_410_gone(ipb, client):
    questionnaire_close(questionnaire=ipb)
    response = client.get(FORM_URL, **EN)
    assert response.status_code == 410
    assert "This survey has closed" in response.content.decode()
    assert "<form" not in response.content.decode().replace('<form class="lang"', "")


def test_a_respondent_who_already_answered_sees_so_instead_of_the_form(ipb, client):
    device_id = "device-that-answered"
    response_submit(
        questionnaire=ipb,
        answers=complete_answers(),
        submission_id=uuid.uuid4(),
        channel="web",
        identity=Identity("device", device_id),
    )
    client.cookies[DEVICE_COOKIE_NAME] = device_cookie_value(device_id)
    response = client.get(FORM_URL, **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "You have already answered" in html
    assert 'id="wf"' not in html


def test_another_device_still_gets_the_form(ipb, client):
    response_submit(
        questionnaire=ipb,
        answers=complete_answers(),
        submission_id=uuid.uuid4(),
        channel="web",
        identity=Identity("device", "someone-else"),
    )
    assert 'id="wf"' in client.get(FORM_URL).content.decode()


def test_a_tampered_device_cookie_is_replaced(ipb, client):
    client.cookies[DEVICE_COOKIE_NAME] = "forged-value"
    response = client.get(FORM_URL)
    assert response.cookies[DEVICE_COOKIE_NAME].value != "forged-value"


def test_every_control_has_a_label_and_every_group_a_legend(ipb, client):
    html = client.get(FORM_URL).content.decode()
    labelled = {attrs["for"] for attrs in elements(html, "label") if attrs.get("for")}
    controls = [
        attrs
        for attrs in elements(html)
        if attrs["<tag>"] in ("input", "textarea") and attrs.get("type") != "hidden"
    ]
    assert len(controls) > 150
    for control in controls:
        assert control.get("id") in labelled, control
    assert html.count("<fieldset") == html.count("<legend>")


def test_matrix_items_are_cards_of_radio_buttons(ipb, client):
    html = client.get(FORM_URL).content.decode()
    cards = [a for a in elements(html, "fieldset") if "card" in a.get("class", "")]
    assert len(cards) == 5 + 6 + 7
    radios = [a for a in elements(html, "input") if a.get("name") == "Q5.a"]
    assert [a["type"] for a in radios] == ["radio"] * 4
    assert "<table" not in html


def test_number_boxes_bring_up_a_numeric_keypad(ipb, client):
    html = client.get(FORM_URL).content.decode()
    grid = [a for a in elements(html, "input") if a.get("name", "").startswith("Q2.")]
    assert len(grid) == 4
    for box in grid:
        assert box["inputmode"] == "numeric"
        assert box["pattern"] == "[0-9]*"


def test_other_please_specify_boxes_are_labelled_and_present_without_javascript(ipb, client):
    html = client.get(FORM_URL, **EN).content.decode()
    for code in ("D6", "Q8", "Q10"):
        box = next(a for a in elements(html, "input") if a.get("name") == f"{code}.other")
        assert box["id"] == f"o-{code}"
        assert f'<label for="o-{code}">' in html
    assert "“Other”, please specify:" in html


def test_the_script_gets_show_if_rules_as_json(ipb, client):
    html = client.get(FORM_URL).content.decode()
    start = html.index('<script id="wf-config" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    config = json.loads(body)
    assert config["showIf"] == {"Q15R": ["cmp", "==", ["ref", "Q15", None], ["int", "1"]]}
    assert config["slug"] == "ipb-survey"
    assert config["wechat"] is None
    assert uuid.UUID(config["submissionId"])


def test_no_wechat_script_loads_when_wechat_is_not_configured(ipb, client):
    html = client.get(FORM_URL, HTTP_USER_AGENT="Mozilla/5.0 MicroMessenger/8.0.47").content
    assert b"jweixin" not in html


def test_the_qr_code_is_an_svg_of_the_public_link(ipb, client):
    response = client.get("/s/ipb-survey/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")
    assert "public" in response["Cache-Control"]


def test_staff_get_the_qr_code_of_a_draft(ipb_draft, staff_client):
    assert staff_client.get("/s/ipb-survey/qr.svg").status_code == 200
