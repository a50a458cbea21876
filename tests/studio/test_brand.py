"""The studio's "look" page: colour, logo, cover and thank-you page saved in the draft through
the rulebook (refusals beside their field), shown in the preview at once, public once
published. Analysts see it and cannot save."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from survey.models import BrandImage
from survey.services.drafts import definition_draft_get, definition_publish
from tests.studio.test_builder import admin, client_as  # noqa: F401 (fixture)
from tests.survey.form.helpers import elements

pytestmark = pytest.mark.django_db
BRAND = "/studio/ipb-survey/brand/"


def png(size=(120, 40), colour="#b3261e", kind="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def post(client, **fields):
    etag = client.get(BRAND).context["state"].etag
    data = {"etag": etag, "colour": "", "redirect": "", "thanks_zh-hans": "", "thanks_en": ""}
    data.update(fields)
    return client.post(BRAND, data)


def test_an_admin_brands_the_form_and_it_is_public_once_published(ipb, admin, client):  # noqa: F811
    logo = png()
    saved = post(
        admin,
        colour="#B3261E",
        logo=upload("logo.png", logo),
        cover=upload("cover.jpg", png((750, 300), "#2d6a4f", "JPEG"), "image/jpeg"),
        **{"thanks_zh-hans": "谢谢参与！"},
        share="on",
        redirect="https://example.org/next",
    )
    assert saved.status_code == 302, saved.context and saved.context["form"].errors
    brand = definition_draft_get(questionnaire=ipb).document["brand"]
    assert brand["colour"] == "#b3261e" and brand["share"] is True
    assert brand["thanks"] == {"zh-hans": "谢谢参与！"}
    assert brand["logo"] == "data:image/png;base64," + base64.b64encode(logo).decode()
    assert "--accent:#b3261e" not in client.get("/s/ipb-survey/").content.decode()
    preview = admin.get("/studio/ipb-survey/preview/")
    assert "--accent:#b3261e" in preview.content.decode()
    assert "'sha256-" in preview["Content-Security-Policy"]
    sources = [i["src"] for i in elements(preview.content.decode(), "img")]
    assert any(src.startswith("data:image/png") for src in sources)

    definition_publish(questionnaire=ipb)
    page = client.get("/s/ipb-survey/").content.decode()
    assert "--accent:#b3261e" in page
    assert set(BrandImage.objects.values_list("kind", flat=True)) == {"logo", "cover"}
    thanks = client.get("/s/ipb-survey/thanks/").content.decode()
    assert "谢谢参与！" in thanks and "https://example.org/next" in thanks


def test_a_second_save_keeps_the_pictures_unless_removed(ipb, admin):  # noqa: F811
    assert post(admin, colour="#1a7f37", logo=upload("logo.png", png())).status_code == 302
    assert post(admin, colour="#1a7f37").status_code == 302
    assert "logo" in definition_draft_get(questionnaire=ipb).document["brand"]
    page = admin.get(BRAND).content.decode()
    assert 'class="brand-logo-now"' in page
    assert post(admin, colour="#1a7f37", remove_logo="on").status_code == 302
    assert definition_draft_get(questionnaire=ipb).document["brand"] == {"colour": "#1a7f37"}
    assert post(admin).status_code == 302
    assert "brand" not in definition_draft_get(questionnaire=ipb).document


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"colour": "#ffd700"}, "colour", "对比度"),
        ({"colour": "blue"}, "colour", "#0b57d0"),
        ({"redirect": "javascript:alert(1)"}, "redirect", "https://"),
        ({"logo": upload("logo.gif", b"GIF89a" + b"\0" * 40, "image/gif")}, "logo", "PNG 或 JPEG"),
        ({"logo": upload("big.png", png((4100, 4)))}, "logo", "4000"),
    ],
)
def test_refusals_are_beside_their_field_and_nothing_is_saved(ipb, admin, fields, field, words):  # noqa: F811
    answer = post(admin, **fields)
    assert answer.status_code == 400
    errors = answer.context["form"].errors
    assert list(errors) == [field], errors
    assert words in " ".join(errors[field]), errors
    assert not definition_get_drafted(ipb)


def definition_get_drafted(ipb) -> bool:
    return definition_draft_get(questionnaire=ipb).drafted


def test_an_analyst_sees_the_page_but_cannot_save(ipb, make_user):
    analyst = client_as(make_user, "ann", "analyst", grants=(ipb,))
    page = analyst.get(BRAND)
    assert page.status_code in (200, 403)
    if page.status_code == 200:
        assert "<fieldset disabled>" in page.content.decode()
    assert post_raw(analyst).status_code == 403
    assert not definition_get_drafted(ipb)


def post_raw(client):
    return client.post(BRAND, {"etag": "x", "colour": "#1a7f37"})
