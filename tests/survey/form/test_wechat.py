"""WeChat: silent OAuth for the openid and the JS-SDK share card, against a local fake."""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from survey.models import Respondent, Response
from survey.services.identity import DEVICE_COOKIE_NAME, Identity, identity_hash
from survey.wechat import jsapi_signature, wechat_js_config, wechat_openid_exchange
from tests.fakes.wechat import CODE_EXCHANGE, TICKET, TOKEN
from tests.survey.answers import complete_answers
from tests.survey.form.helpers import FORM_URL, hidden_fields, post_data

pytestmark = pytest.mark.django_db

IN_WECHAT = {
    "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47"
}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def follow_authorize(location: str) -> str:
    """What WeChat does in its app: the authorize page sends the browser back with a code."""
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        opener.open(location.split("#", 1)[0], timeout=5)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        return redirect.headers["Location"]
    raise AssertionError("the authorize endpoint did not redirect")


def back_from_wechat(client: Client) -> tuple[str, object]:
    """GET the form inside WeChat and go through the authorize page; returns the return URL
    (path and query on our host) and the response to it."""
    first = client.get(FORM_URL, **IN_WECHAT)
    assert first.status_code == 302
    back = follow_authorize(first["Location"])
    parts = urlsplit(back)
    path = f"{parts.path}?{parts.query}"
    return path, client.get(path, **IN_WECHAT)


def test_inside_wechat_the_form_first_asks_wechat_for_the_openid_silently(ipb, client, fake_wechat):
    response = client.get(FORM_URL, **IN_WECHAT)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{fake_wechat.base_url}/connect/oauth2/authorize?")
    assert location.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(location.split("#")[0]).query)
    assert query["appid"] == [fake_wechat.app_id]
    assert query["redirect_uri"] == ["http://testserver/s/ipb-survey/"]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["snsapi_base"]
    assert client.session["wechat_oauth_state"] == query["state"][0]
    assert list(parse_qs(urlsplit(location).query)) == [
        "appid",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
    ]


def test_the_whole_flow_makes_the_openid_the_respondent_identity(ipb, client, fake_wechat):
    _path, back = back_from_wechat(client)
    assert back.status_code == 302 and back["Location"] == FORM_URL  # a clean URL again
    assert fake_wechat.calls[CODE_EXCHANGE] == 1
    page = client.get(FORM_URL, **IN_WECHAT)
    assert page.status_code == 200
    fields = hidden_fields(page.content.decode())
    assert (
        client.post(FORM_URL, post_data(complete_answers(), fields), **IN_WECHAT).status_code == 303
    )
    stored = Response.objects.get()
    assert stored.channel == "wechat"
    assert stored.respondent.kind == Respondent.Kind.WECHAT
    assert stored.respondent.identity_hash == identity_hash(Identity("wechat", fake_wechat.openid))
    # the same WeChat user on another phone has answered already
    other_phone = Client()
    _p, _r = back_from_wechat(other_phone)
    html = other_phone.get(FORM_URL, **IN_WECHAT, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You have already answered" in html


def test_the_openid_reaches_neither_the_database_nor_the_logs(ipb, client, fake_wechat, caplog):
    caplog.set_level(logging.DEBUG)
    path, _back = back_from_wechat(client)
    page = client.get(FORM_URL, **IN_WECHAT)
    fields = hidden_fields(page.content.decode())
    client.post(FORM_URL, post_data(complete_answers(), fields), **IN_WECHAT)
    code = parse_qs(urlsplit(path).query)["code"][0]
    assert wechat_openid_exchange(code=code) is None  # used already: refused, and logged
    for session in Session.objects.all():
        assert fake_wechat.openid not in json.dumps(session.get_decoded())
        assert fake_wechat.openid not in session.session_data
    assert not Respondent.objects.filter(identity_hash__contains=fake_wechat.openid).exists()
    assert fake_wechat.openid not in json.dumps(Response.objects.get().answers)
    logs = caplog.text
    assert "wechat oauth code exchange refused: errcode=40163" in logs
    for secret in (fake_wechat.openid, fake_wechat.app_secret, code, fake_wechat.ticket):
        assert secret not in logs


def test_a_wrong_state_gives_no_wechat_identity_and_no_error(ipb, client, fake_wechat):
    first = client.get(FORM_URL, **IN_WECHAT)
    back = follow_authorize(first["Location"].replace("state=", "state=forged"))
    parts = urlsplit(back)
    response = client.get(f"{parts.path}?{parts.query}", **IN_WECHAT)
    assert response.status_code == 200  # the form, right away: no second trip to WeChat
    assert fake_wechat.calls[CODE_EXCHANGE] == 0
    assert DEVICE_COOKIE_NAME in response.cookies
    assert "wenji_wechat" not in response.cookies
    # and the form does not send this browser to WeChat again
    assert client.get(FORM_URL, **IN_WECHAT).status_code == 200


def test_a_reused_code_gives_no_wechat_identity(ipb, client, fake_wechat):
    path, _back = back_from_wechat(client)
    replay = Client()  # someone replaying the return URL, code and all
    replay.get(FORM_URL, **IN_WECHAT)  # a state of its own in its own session
    state = replay.session["wechat_oauth_state"]
    code = parse_qs(urlsplit(path).query)["code"][0]
    response = replay.get(f"{FORM_URL}?code={code}&state={state}", **IN_WECHAT)
    assert response.status_code == 200
    assert "wenji_wechat" not in response.cookies
    assert fake_wechat.calls[CODE_EXCHANGE] == 2
    assert wechat_openid_exchange(code=code) is None


def test_a_wechat_error_reply_falls_back_to_the_device_cookie(ipb, client, fake_wechat):
    fake_wechat.fail[CODE_EXCHANGE] = 40029
    _path, response = back_from_wechat(client)
    assert response.status_code == 200
    fields = hidden_fields(response.content.decode())
    client.post(FORM_URL, post_data(complete_answers(), fields), **IN_WECHAT)
    assert Response.objects.get().respondent.kind == Respondent.Kind.DEVICE


def test_wechat_out_of_reach_is_no_identity_and_no_share_card(ipb, client, fake_wechat, settings):
    back_from_wechat(client)  # the openid is known
    fake_wechat.stop()
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = client.get(FORM_URL, **IN_WECHAT)
    assert response.status_code == 200
    assert b"jweixin" not in response.content
    assert b'"wechat": null' in response.content


def test_two_page_loads_fetch_the_access_token_and_ticket_once(ipb, client, fake_wechat):
    back_from_wechat(client)
    first = client.get(FORM_URL, **IN_WECHAT)
    second = client.get(FORM_URL, **IN_WECHAT)
    assert fake_wechat.calls[TOKEN] == 1
    assert fake_wechat.calls[TICKET] == 1
    for response in (first, second):
        html = response.content.decode()
        assert "/static/survey/vendor/jweixin-1.6.0" in html
        config = json.loads(html.split('type="application/json">', 1)[1].split("</script>")[0])
        wx = config["wechat"]["config"]
        expected = jsapi_signature(
            ticket=fake_wechat.ticket,
            nonce_str=wx["nonceStr"],
            timestamp=wx["timestamp"],
            url="http://testserver/s/ipb-survey/",
        )
        assert wx["signature"] == expected
        assert wx["appId"] == fake_wechat.app_id
        assert wx["jsApiList"] == ["updateAppMessageShareData", "updateTimelineShareData"]
        assert fake_wechat.ticket not in html
        share = config["wechat"]["share"]
        assert share["link"] == "http://testserver/s/ipb-survey/"
        assert share["imgUrl"].startswith("http://testserver/static/survey/share-cover")


def test_the_signature_is_sha1_of_the_four_fields_without_the_fragment():
    text = "jsapi_ticket=T&noncestr=N&timestamp=1&url=http://x/s/a/?b=1"
    expected = hashlib.sha1(text.encode()).hexdigest()
    assert (
        jsapi_signature(ticket="T", nonce_str="N", timestamp=1, url="http://x/s/a/?b=1#f")
        == expected
    )


def test_token_and_ticket_are_cached_for_less_than_their_7200_seconds(fake_wechat, monkeypatch):
    from django.core.cache import cache

    lifetimes = {}

    class Recording:
        def get(self, key):
            return cache.get(key)

        def set(self, key, value, timeout):
            lifetimes[key.split(":")[1]] = timeout
            cache.set(key, value, timeout)

    monkeypatch.setattr("survey.wechat.cache", Recording())
    assert wechat_js_config(url="http://testserver/s/ipb-survey/") is not None
    assert wechat_js_config(url="http://testserver/s/other/") is not None
    assert lifetimes == {"access_token": 7200 - 300, "jsapi_ticket": 7200 - 300}
    assert fake_wechat.calls[TOKEN] == 1 and fake_wechat.calls[TICKET] == 1


def test_outside_wechat_nothing_wechat_happens(ipb, client, fake_wechat):
    response = client.get(FORM_URL, HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Safari/604.1")
    assert response.status_code == 200
    assert b"jweixin" not in response.content
    assert sum(fake_wechat.calls.values()) == 0


def test_without_the_app_secret_wechat_is_not_configured(ipb, client, fake_wechat, settings):
    settings.WECHAT_APP_SECRET = ""
    response = client.get(FORM_URL, **IN_WECHAT)
    assert response.status_code == 200
    assert b"jweixin" not in response.content
    assert sum(fake_wechat.calls.values()) == 0
