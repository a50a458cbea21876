from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.fakes.wechat import FakeWeChat
from tests.survey.form.helpers import open_form, post_data


@pytest.fixture
def submit_form(client):
    """Open the form, then POST these answers with its tokens; returns the POST's response."""

    def submit(answers, url="/s/ipb-survey/", **headers):
        _page, fields = open_form(client, url, **headers)
        return client.post(url, post_data(answers, fields), **headers)

    return submit


@pytest.fixture
def fake_wechat(settings):
    """WeChat configured and pointed at a local fake (a fresh app id per test, so cached
    tokens of one test never serve another)."""
    import secrets

    fake = FakeWeChat(app_id="wx" + secrets.token_hex(8), app_secret=secrets.token_hex(16))
    fake.start()
    settings.WECHAT_APP_ID = fake.app_id
    settings.WECHAT_APP_SECRET = fake.app_secret
    settings.WECHAT_API_BASE = fake.base_url
    settings.WECHAT_OPEN_BASE = fake.base_url
    try:
        yield fake
    finally:
        fake.stop()
        cache.delete_many(
            [f"wechat:{what}:{fake.app_id}" for what in ("access_token", "jsapi_ticket")]
        )
