"""Inside WeChat with WeChat configured: the silent OAuth round trip and the share card, in a
real browser, against the local fake of WeChat's endpoints."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from survey.models import Respondent, Response
from survey.services.identity import Identity, identity_hash
from tests.browser.helpers import fill_by_script, next_section
from tests.fakes.wechat import AUTHORIZE, CODE_EXCHANGE, TICKET, TOKEN
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Stands in for WeChat's JS bridge: records what the page asks of the JS-SDK. Defining
# jWeixin first makes the real (self-hosted) SDK file keep it, as it does when loaded twice.
RECORDING_WX = """
window.__wx = [];
window.jWeixin = window.wx = {
  config: c => __wx.push(["config", c]),
  ready: f => f(),
  error: f => {},
  updateAppMessageShareData: d => __wx.push(["app", d]),
  updateTimelineShareData: d => __wx.push(["timeline", d]),
};
"""


def test_inside_wechat_the_openid_is_the_identity_and_the_share_card_is_set(
    ipb, server, phone, new_context, fake_wechat
):
    page = phone.new_page()
    page.add_init_script(RECORDING_WX)
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(server("/s/ipb-survey/"))
    assert page.url == server("/s/ipb-survey/")  # back on a clean URL after the round trip
    assert fake_wechat.calls[AUTHORIZE] == 1 and fake_wechat.calls[CODE_EXCHANGE] == 1
    assert fake_wechat.calls[TOKEN] == 1 and fake_wechat.calls[TICKET] == 1
    scripts = [urlsplit(url).path for url in seen if url.endswith(".js")]
    assert any("/static/survey/vendor/jweixin-1.6.0." in path for path in scripts)

    calls = dict((name, data) for name, data in page.evaluate("window.__wx"))
    assert calls["config"]["appId"] == fake_wechat.app_id
    assert len(calls["config"]["signature"]) == 40
    assert calls["config"]["debug"] is False
    assert calls["app"]["link"] == server("/s/ipb-survey/")
    assert calls["app"]["title"] == calls["timeline"]["title"]
    assert "/static/survey/share-cover." in calls["app"]["imgUrl"]

    # Once known, the openid needs no round trip; with the SDK the page still fits the budget
    # (measured cold: a new phone with this one's cookies and an empty cache).
    cold = new_context()
    cold.add_cookies(phone.cookies())
    cold_page = cold.new_page()
    cold_page.add_init_script(RECORDING_WX)
    finished = []
    cold_page.on("requestfinished", lambda request: finished.append(request))
    cold_page.goto(server("/s/ipb-survey/"), wait_until="networkidle")
    assert {urlsplit(r.url).netloc for r in finished} == {server.host}
    assert len(finished) == 4  # the page, form.css, form.js and the SDK
    sizes = [r.sizes() for r in finished]
    transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
    print(f"\nform page inside WeChat: {len(finished)} requests, {transferred} bytes")
    assert transferred <= 60 * 1024
    assert fake_wechat.calls[AUTHORIZE] == 1 and fake_wechat.calls[TOKEN] == 1

    fill_by_script(page, complete_answers())
    for _ in range(3):
        next_section(page)
    page.click("#wf-submit")
    page.wait_for_url(server("/s/ipb-survey/thanks/"))
    respondent = Response.objects.get().respondent
    assert respondent.kind == Respondent.Kind.WECHAT
    assert respondent.identity_hash == identity_hash(Identity("wechat", fake_wechat.openid))
    openid_cookie = [c for c in page.context.cookies() if c["name"] == "wenji_wechat"]
    assert openid_cookie and openid_cookie[0]["httpOnly"]


def test_outside_wechat_no_wechat_script_loads(ipb, server, new_context, fake_wechat):
    context = new_context(user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1")
    page = context.new_page()
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(server("/s/ipb-survey/"))
    assert not any("jweixin" in url for url in seen)
    assert sum(fake_wechat.calls.values()) == 0
