"""Sharing: the page, the QR code as SVG and PNG, the poster, and the share card's words,
which the form's WeChat share then uses."""

from __future__ import annotations

import struct

import pytest

from survey.models import Questionnaire
from survey.views import share_description, share_title
from tests.studio.test_builder import admin, client_as  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
BASE = "/studio/ipb-survey/share/"


def test_the_share_page_gives_the_link_qr_poster_and_snippet(ipb, admin):  # noqa: F811
    html = admin.get(BASE).content.decode()
    assert 'value="http://testserver/s/ipb-survey/"' in html
    assert "/studio/ipb-survey/share/qr.svg" in html and "/studio/ipb-survey/share/qr.png" in html
    assert "/studio/ipb-survey/share/poster.svg" in html
    assert "&lt;a href=&quot;http://testserver/s/ipb-survey/&quot;" in html  # the snippet


def test_the_qr_code_comes_as_svg_and_as_a_png(ipb, admin):  # noqa: F811
    svg = admin.get(BASE + "qr.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<path" in svg.content
    png = admin.get(BASE + "qr.png")
    assert png["Content-Type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png.content[16:24])
    assert width == height >= 300  # large enough to print


def test_the_poster_carries_the_title_the_code_and_the_text_escaped(ipb, admin):  # noqa: F811
    Questionnaire.objects.filter(pk=ipb.pk).update(share_title="<b>快来答题</b>")
    poster = admin.get(BASE + "poster.svg").content.decode()
    assert "&lt;b&gt;快来答题&lt;/b&gt;" in poster and "<b>" not in poster
    assert poster.count("<svg") == 2  # the poster and the QR code in it
    from xml.dom.minidom import parseString

    assert parseString(poster).documentElement.tagName == "svg"  # well-formed: an image loads
    assert "扫码答题" in poster


def test_the_share_card_words_are_saved_and_used_by_the_form(ipb, admin):  # noqa: F811
    assert share_title(ipb) == "基层党员干部对“互联网+党建”的评价与期待"
    answer = admin.post(BASE, {"share_title": "2 分钟问卷", "share_description": "说说你的看法"})
    assert answer.status_code == 302
    ipb.refresh_from_db()
    assert (share_title(ipb), share_description(ipb)) == ("2 分钟问卷", "说说你的看法")
    too_long = admin.post(BASE, {"share_title": "长" * 65})
    assert too_long.status_code == 400 and too_long.context["form"].errors["share_title"]


def test_analysts_see_the_share_page_but_cannot_change_the_card(ipb, make_user):
    analyst = client_as(make_user, "a", "analyst", grants=(ipb,))
    assert analyst.get(BASE).status_code == 200
    assert analyst.get(BASE + "qr.png").status_code == 200
    assert analyst.post(BASE, {"share_title": "x"}).status_code == 403
    outsider = client_as(make_user, "o", "analyst")
    assert outsider.get(BASE + "poster.svg").status_code == 404


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_share_card_picture_is_uploaded_served_and_removed(ipb, admin, client):  # noqa: F811
    from django.core.files.uploadedfile import SimpleUploadedFile

    from survey.views import share_image_url

    answer = admin.post(
        BASE,
        {
            "share_title": "",
            "share_description": "",
            "share_image": SimpleUploadedFile("c.png", PNG),
        },
    )
    assert answer.status_code == 302
    served = client.get("/s/ipb-survey/share-image")
    assert served["Content-Type"] == "image/png" and served.content == PNG
    assert "/s/ipb-survey/share-image" in admin.get(BASE).content.decode()  # the card shows it
    ipb.refresh_from_db()
    assert ipb.share_image.data  # kept in its own row
    refused = admin.post(
        BASE, {"share_image": SimpleUploadedFile("c.gif", b"GIF89a" + b"\x00" * 10)}
    )
    assert refused.status_code == 400 and refused.context["form"].errors["share_image"]
    assert client.get("/s/ipb-survey/share-image").content == PNG  # unchanged
    admin.post(BASE, {"remove_image": "on"})
    assert client.get("/s/ipb-survey/share-image").status_code == 404
    from django.test import RequestFactory

    assert share_image_url(RequestFactory().get("/"), ipb).endswith("share-cover.png")
