"""A branded questionnaire in Chromium, as a phone in WeChat sees it, with the page's own
Content-Security-Policy in force: the colour applies (its inline style is allowed by hash), the
logo and cover load, the thank-you page shares and goes on after a countdown the reader can
stop, and axe finds nothing serious on the branded form, thank-you and closed pages."""

from __future__ import annotations

import base64
import io
import math
import uuid

import pytest
from PIL import Image, ImageDraw

from survey.services.questionnaires import (
    questionnaire_close,
    questionnaire_export,
    questionnaire_import,
)
from survey.services.responses import response_submit
from tests.browser.conftest import PHONE
from tests.browser.test_accessibility import audit
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FORM = "/s/ipb-survey/"
RED = "rgb(179, 38, 30)"


def _uri(image: Image.Image, kind: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, kind, optimize=True)
    mime = "image/png" if kind == "PNG" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def logo() -> str:
    """An emblem: a red disc with a white five-pointed star, 96 × 96."""
    image = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((2, 2, 94, 94), fill="#b3261e")
    star = [
        (48 + r * math.sin(math.radians(36 * k)), 50 - r * math.cos(math.radians(36 * k)))
        for k, r in zip(range(10), [34, 14] * 5, strict=True)
    ]
    draw.polygon(star, fill="#ffffff")
    return _uri(image, "PNG")


def cover() -> str:
    """A warm band of colour, 750 × 280, with a few light rays."""
    red = Image.new("RGB", (750, 280), "#b3261e")
    gold = Image.new("RGB", (750, 280), "#e8a33d")
    mask = Image.linear_gradient("L").rotate(90).resize((750, 280))
    image = Image.composite(red, gold, mask)
    draw = ImageDraw.Draw(image)
    for k in range(7):
        draw.line((600, -40, 80 + k * 110, 320), fill="#f6d28b", width=3)
    return _uri(image, "JPEG")


def brand(ipb, **extra) -> None:
    definition = questionnaire_export(questionnaire=ipb)
    definition["brand"] = {
        "colour": "#b3261e",
        "logo": logo(),
        "cover": cover(),
        "thanks": {"zh-hans": "感谢你参与本次调查！结果将在公众号发布。", "en": "Thank you!"},
        "share": True,
        **extra,
    }
    questionnaire_import(definition=definition, replace=True)


def loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_the_branded_form_and_end_pages_in_chromium(ipb, server, new_context, artifacts):
    brand(ipb)
    refused = []
    context = new_context(locale="zh-CN", device_scale_factor=2)
    page = context.new_page()
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(server(FORM))
    colour = page.eval_on_selector("#wf-submit", "b => getComputedStyle(b).backgroundColor")
    assert colour == RED
    assert loaded(page, ".brand-logo img") and loaded(page, "img.cover")
    page.screenshot(path=str(artifacts / "form-branded.png"))

    response_submit(
        questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="web"
    )
    page.goto(server(FORM + "thanks/"))
    assert "感谢你参与本次调查！" in page.inner_text("main")
    assert "点击右上角" in page.inner_text(".share-box")  # inside WeChat: its own menu
    page.screenshot(path=str(artifacts / "thanks-branded.png"))
    questionnaire_close(questionnaire=ipb)
    page.goto(server(FORM))
    assert page.inner_text("h1") == "本问卷已结束"
    assert loaded(page, ".brand-logo img")
    page.screenshot(path=str(artifacts / "closed-branded.png"))
    assert refused == []


def test_branded_pages_have_no_serious_violation(ipb, server, new_context):
    brand(ipb, redirect="https://example.org/next")
    context = new_context(viewport=PHONE, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(server(FORM))
    assert audit(page) == []
    page.goto(server(FORM + "thanks/"))
    page.click("#wf-next-stay")  # stay: the audit must not be cut short by the redirect
    assert audit(page) == []
    questionnaire_close(questionnaire=ipb)
    page.goto(server(FORM))
    assert audit(page) == []


def test_the_thank_you_page_shares_and_goes_on_unless_asked_to_stay(ipb, server, new_context):
    brand(ipb, redirect=server("/s/ipb-survey/qr.svg"))
    desktop = new_context(viewport=PHONE, locale="zh-CN", user_agent="Mozilla/5.0 Chrome/130")
    page = desktop.new_page()
    page.goto(server(FORM + "thanks/"))
    assert page.is_visible("#wf-share")
    page.click("#wf-share")
    page.wait_for_function("document.getElementById('wf-share-status').textContent !== ''")
    assert page.inner_text("#wf-share-status") == "链接已复制。"
    assert "秒后跳转" in page.inner_text("#wf-next-count")
    page.click("#wf-next-stay")
    page.wait_for_timeout(6000)
    assert page.url.endswith("/thanks/")
    page.reload()
    page.wait_for_url("**/qr.svg", timeout=10000)
