"""A questionnaire's brand: the rulebook's refusals, storage and export, and every respondent's
page (form, thank-you, closed, not yet open, full, already answered) carrying it."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import random
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import override
from PIL import Image

from survey.brand import contrast_on_white
from survey.interchange import validate_definition
from survey.models import BrandImage, Questionnaire
from survey.services.questionnaires import (
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
)
from tests.survey.form.helpers import elements

RED = "#b3261e"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI"
)


def picture(kind: str = "PNG", size: tuple[int, int] = (120, 40), colour: str = RED) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    mime = "image/png" if kind == "PNG" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode()}"


LOGO = picture("PNG", (120, 40))
COVER = picture("JPEG", (750, 300), "#2d6a4f")


def branded(definition: dict, **brand) -> dict:
    changed = copy.deepcopy(definition)
    changed["brand"] = brand or {
        "colour": RED,
        "logo": LOGO,
        "cover": COVER,
        "thanks": {"zh-hans": "感谢你参与本次调查！", "en": "Thanks for taking part!"},
        "redirect": "https://example.org/after",
        "share": True,
    }
    return changed


@pytest.fixture
def brand_ipb(db, reference_definition):
    questionnaire = questionnaire_import(definition=branded(reference_definition))
    return questionnaire_publish(questionnaire=questionnaire)


def problems_of(definition: dict, language: str = "en") -> list[str]:
    with override(language):
        return [p for p in validate_definition(definition) if p.startswith("brand")]


# --- the rulebook -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ({"colour": "red"}, "brand.colour: must be a colour like #0b57d0"),
        (
            {"colour": "#ffcc00"},
            "brand.colour: is too light: white text on it, and it on white, "
            "have a contrast of 1.5; at least 4.5 is needed to be readable",
        ),
        ({"logo": "https://example.org/logo.png"}, "brand.logo: must be a data URI"),
        (
            {"logo": "data:image/png;base64,bm90IGEgcGljdHVyZQ=="},
            "brand.logo: must be a PNG or JPEG picture",
        ),
        ({"logo": "data:image/png;base64,@@@"}, "brand.logo: must be a data URI"),
        (
            {"logo": "data:image/png;base64," + picture("JPEG").split(",")[1]},
            "brand.logo: must be a PNG or JPEG picture",
        ),
        (
            {
                "logo": "data:image/png;base64,"
                + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 80).decode()
            },
            "brand.logo: is not a picture that can be read",
        ),
        ({"cover": picture("PNG", (4200, 10))}, "brand.cover: is 4200 × 10 pixels; at most 4000"),
        ({"redirect": "javascript:alert(1)"}, "brand.redirect: must be an http:// or https://"),
        ({"redirect": "https://example.org/" + "a" * 500}, "brand.redirect: must be an http://"),
        ({"share": "yes"}, "brand.share: must be true or false, not text"),
        ({"thanks": {"fr": "Merci"}}, "brand.thanks: language 'fr' is not in languages"),
        ({"font": "serif"}, "brand: unknown key 'font'"),
    ],
)
def test_the_rulebook_refuses_a_brand_naming_the_field(reference_definition, brand, expected):
    found = problems_of(branded(reference_definition, **brand))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_a_picture_over_its_size_is_refused_with_both_sizes(reference_definition):
    noise = Image.frombytes("RGB", (200, 200), random.Random(1).randbytes(200 * 200 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 64 * 1024
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    (found,) = problems_of(branded(reference_definition, logo=uri))
    assert re.match(r"brand\.logo: is \d+ KB; at most 64 KB", found), found
    assert problems_of(branded(reference_definition, cover=uri)) == []


def test_refusals_are_in_chinese_too(reference_definition):
    found = problems_of(branded(reference_definition, colour="#ffcc00", share=1), "zh-hans")
    assert any(p.startswith("brand.colour: ") and "对比度" in p for p in found), found
    assert any(p.startswith("brand.share: ") and "true 或 false" in p for p in found), found


def test_a_colour_passes_exactly_at_aa_contrast():
    assert contrast_on_white("#0b57d0") > 4.5
    assert contrast_on_white("#767676") > 4.5 > contrast_on_white("#777777")


def test_a_full_brand_is_accepted(reference_definition):
    assert validate_definition(branded(reference_definition)) == []


# --- stored and given back --------------------------------------------------------------------


def test_export_gives_the_brand_back_as_imported(db, reference_definition):
    definition = branded(reference_definition)
    questionnaire = questionnaire_import(definition=definition)
    assert questionnaire_export(questionnaire=questionnaire)["brand"] == definition["brand"]
    rows = {row.kind: row for row in BrandImage.objects.filter(questionnaire=questionnaire)}
    assert set(rows) == {"logo", "cover"}
    assert rows["cover"].content_type == "image/jpeg"
    logo_bytes = base64.b64decode(LOGO.split(",", 1)[1])
    assert bytes(rows["logo"].data) == logo_bytes
    assert questionnaire.brand["logo"] == {
        "sha256": hashlib.sha256(logo_bytes).hexdigest(),
        "type": "image/png",
        "width": 120,
        "height": 40,
    }


def test_a_brand_change_keeps_the_definition_version_and_drops_a_removed_picture(brand_ipb):
    version = brand_ipb.definition_version
    definition = questionnaire_export(questionnaire=brand_ipb)
    definition["brand"] = {"colour": "#1a7f37", "logo": picture("PNG", (80, 80), "#1a7f37")}
    questionnaire_import(definition=definition, replace=True)
    brand_ipb.refresh_from_db()
    assert brand_ipb.definition_version == version
    assert brand_ipb.brand["colour"] == "#1a7f37"
    assert brand_ipb.brand["logo"]["width"] == 80
    assert list(
        BrandImage.objects.filter(questionnaire=brand_ipb).values_list("kind", flat=True)
    ) == ["logo"]
    definition.pop("brand")
    questionnaire_import(definition=definition, replace=True)
    brand_ipb.refresh_from_db()
    assert brand_ipb.brand == {}
    assert not BrandImage.objects.filter(questionnaire=brand_ipb).exists()
    assert "brand" not in questionnaire_export(questionnaire=brand_ipb)


# --- the pages --------------------------------------------------------------------------------


def _style_allowed(response) -> str:
    """The page's inline style, checked against the hash its policy allows."""
    html = response.content.decode()
    (css,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = response["Content-Security-Policy"]
    style_src = next(d for d in policy.split("; ") if d.startswith("style-src "))
    assert style_src == f"style-src 'self' 'sha256-{digest}'"
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    return css


def assert_branded(response) -> None:
    css = _style_allowed(response)
    assert f"--accent:{RED}" in css
    html = response.content.decode()
    images = {img.get("class", "logo"): img for img in elements(html, "img")}
    assert re.fullmatch(r"/s/ipb-survey/brand/logo-[0-9a-f]{16}\.png", images["logo"]["src"])
    assert (images["logo"]["width"], images["logo"]["height"]) == ("120", "40")
    assert re.fullmatch(r"/s/ipb-survey/brand/cover-[0-9a-f]{16}\.jpg", images["cover"]["src"])
    assert images["cover"]["alt"] == "" and images["logo"]["alt"] == ""


def test_the_form_carries_the_brand_without_reading_a_picture(client, brand_ipb):
    client.get("/s/ipb-survey/")  # warm the structure cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/s/ipb-survey/")
    assert response.status_code == 200
    assert_branded(response)
    assert not any("survey_brandimage" in q["sql"] for q in queries.captured_queries)


def test_an_unbranded_form_has_no_inline_style_and_the_default_policy(client, ipb):
    response = client.get("/s/ipb-survey/")
    assert "<style>" not in response.content.decode()
    assert "style-src 'self';" in response["Content-Security-Policy"]
    assert not elements(response.content.decode(), "img")


def test_the_thank_you_page_has_its_own_message_share_and_redirect(client, brand_ipb):
    response = client.get("/s/ipb-survey/thanks/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert_branded(response)
    html = response.content.decode()
    assert "感谢你参与本次调查！" in html and "您的答卷已成功提交。" not in html
    (next_page,) = [p for p in elements(html, "p") if p.get("id") == "wf-next"]
    assert next_page["data-href"] == "https://example.org/after"
    assert '<a href="https://example.org/after" rel="noopener">' in html
    (link,) = [i for i in elements(html, "input") if i.get("id") == "wf-share-link"]
    assert link["value"] == "http://testserver/s/ipb-survey/"
    assert 'id="wf-share"' in html


def test_the_thank_you_page_in_english_and_in_wechat(client, brand_ipb, english):
    html = client.get("/s/ipb-survey/thanks/", HTTP_USER_AGENT=WECHAT_UA).content.decode()
    assert "Thanks for taking part!" in html
    assert "Tap ··· at the top right" in html and 'id="wf-share"' not in html


def test_without_a_brand_the_thank_you_page_says_the_default(client, ipb):
    html = client.get("/s/ipb-survey/thanks/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "您的答卷已成功提交。" in html
    assert 'id="wf-next"' not in html and "share-box" not in html


@pytest.mark.parametrize("window", ["closed", "not_yet", "full"])
def test_the_pages_instead_of_the_form_carry_the_brand(client, brand_ipb, window, submit_form):
    now = timezone.now()
    if window == "closed":
        Questionnaire.objects.filter(pk=brand_ipb.pk).update(status="closed", closed_at=now)
    elif window == "not_yet":
        Questionnaire.objects.filter(pk=brand_ipb.pk).update(opens_at=now + timedelta(days=1))
    else:
        Questionnaire.objects.filter(pk=brand_ipb.pk).update(response_limit=1)
        from tests.survey.answers import complete_answers

        assert submit_form(complete_answers()).status_code == 303
    response = client.get("/s/ipb-survey/")
    assert response.status_code == (200 if window == "not_yet" else 410)
    assert_branded(response)


def test_the_already_answered_page_carries_the_brand(client, brand_ipb, submit_form):
    from tests.survey.answers import complete_answers

    Questionnaire.objects.filter(pk=brand_ipb.pk).update(one_response_per="respondent")
    assert submit_form(complete_answers()).status_code == 303
    response = client.get("/s/ipb-survey/")
    assert 'data-page="already"' in response.content.decode()
    assert_branded(response)


def test_pictures_are_served_for_a_year_and_only_by_their_current_name(client, brand_ipb):
    html = client.get("/s/ipb-survey/").content.decode()
    src = next(img["src"] for img in elements(html, "img") if img.get("class") == "cover")
    response = client.get(src)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "max-age=31536000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert Image.open(io.BytesIO(response.content)).size == (750, 300)
    stale = re.sub(r"cover-[0-9a-f]{16}", "cover-0000000000000000", src)
    assert client.get(stale).status_code == 404
    assert client.get("/s/ipb-survey/brand/share-0000000000000000.png").status_code == 404
    Questionnaire.objects.filter(pk=brand_ipb.pk).update(status="draft")
    assert client.get(src).status_code == 404  # a draft's pictures are not public


def test_a_brand_travels_through_xlsform_in_cells_excel_can_hold(db, reference_definition):
    import openpyxl

    from survey.xlsform import xlsform_read, xlsform_write

    noise = Image.frombytes("RGB", (180, 100), random.Random(2).randbytes(180 * 100 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    cover = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert len(cover) > 40_000
    definition = branded(reference_definition, colour=RED, cover=cover)
    exported = questionnaire_export(questionnaire=questionnaire_import(definition=definition))
    data = xlsform_write(exported)
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [cell for row in book["wenji"].iter_rows(values_only=True) for cell in row if cell]
    assert max(len(str(cell)) for cell in cells) <= 32_767
    assert xlsform_read(data, filename="form.xlsx").document["brand"] == definition["brand"]
