"""The admin's questionnaire page in Chromium, with its own styles: no sideways scrolling at a
laptop's width, and the buttons above the form never cover the warning about responses."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from tests.analysis.jobs import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_the_questionnaire_page_fits_a_laptop_and_the_warning_stays_readable(
    ipb, server, new_context
):
    submit(ipb, 3, seed=2)  # responses: the page warns that the structure is locked
    root = User.objects.create_superuser("root", password=None)
    client = Client()
    client.force_login(root)
    cookie = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": server.url,
    }
    context = new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(server(f"/admin/survey/questionnaire/{ipb.pk}/change/"))
    assert page.locator("link[href*='admin/css/base']").count() == 1  # styled as in production
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    warning = page.locator(".structure-lock, .messagelist li, .warning").first.bounding_box()
    assert warning is not None
    tools = page.locator(".object-tools li")
    assert tools.count() >= 5
    for index in range(tools.count()):
        box = tools.nth(index).bounding_box()
        assert box is not None and not overlaps(box, warning), index
    assert "问集管理后台" in page.locator("#site-name").inner_text()
    assert "题目" in page.locator("#scores-group thead").inner_text()  # no English header
