"""The studio: who may open it, the list, new questionnaires, and the builder's edits, each
stored as the draft through the one rulebook, refused beside the field, or refused as a
conflict when the page was outdated; then publishing."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.test import Client

from survey.forms.labels import LabelField
from survey.models import DefinitionDraft, Questionnaire
from survey.services.drafts import definition_draft_get

pytestmark = pytest.mark.django_db


def client_as(make_user, name: str, *roles: str, grants: tuple = ()) -> Client:
    client = Client()
    client.force_login(make_user(name, *roles, grants=grants))
    return client


@pytest.fixture
def admin(make_user) -> Client:
    return client_as(make_user, "boss", "admin")


def editor_data(response) -> dict[str, Any]:
    """The builder's question editor as the browser would post it unchanged."""
    editor = response.context["editor"]
    data: dict[str, Any] = {"etag": response.context["state"].etag}
    formsets = [fs for fs in (editor["choices"], editor["items"]) if fs is not None]
    every = [editor["form"]] + [form for fs in formsets for form in fs.forms]
    for form in every:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field, LabelField):
                widget = bound.field.widget
                for suffix, part in zip(
                    widget.widgets_names, widget.decompress(value), strict=True
                ):
                    data[f"{bound.html_name}{suffix}"] = part
            elif isinstance(bound.field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = value
    for formset in formsets:
        data[f"{formset.prefix}-TOTAL_FORMS"] = len(formset.forms)
        data[f"{formset.prefix}-INITIAL_FORMS"] = len(formset.forms)
    return data


def draft(slug: str) -> dict[str, Any]:
    return definition_draft_get(questionnaire=Questionnaire.objects.get(slug=slug)).document


def question(document: dict[str, Any], code: str) -> dict[str, Any]:
    return next(q for s in document["sections"] for q in s["questions"] if q["code"] == code)


# --- who may --------------------------------------------------------------------------------


def test_the_studio_sends_strangers_to_the_login_and_refuses_collectors(ipb, make_user):
    assert Client().get("/studio/").status_code == 302
    assert Client().get("/studio/ipb-survey/").status_code == 302
    collector = client_as(make_user, "c", "collector", grants=(ipb,))
    assert collector.get("/studio/").status_code == 403


def test_analysts_see_granted_questionnaires_read_only_and_cannot_edit(ipb, make_user):
    analyst = client_as(make_user, "a", "analyst", grants=(ipb,))
    listed = analyst.get("/studio/").content.decode()
    assert "ipb-survey" in listed and 'action="/studio/new/"' not in listed
    page = analyst.get("/studio/ipb-survey/")
    assert page.status_code == 200 and "<fieldset disabled>" in page.content.decode()
    assert analyst.post("/studio/ipb-survey/questions/add/", {"type": "text"}).status_code == 403
    assert analyst.post("/studio/new/", {"source": "blank"}).status_code == 403
    outsider = client_as(make_user, "b", "analyst")
    assert outsider.get("/studio/ipb-survey/").status_code == 404
    assert "ipb-survey" not in outsider.get("/studio/").content.decode()


# --- the list and new questionnaires ----------------------------------------------------------


def test_the_list_shows_status_and_counts_in_a_bounded_number_of_queries(
    ipb, admin, django_assert_max_num_queries
):
    from tests.analysis.jobs import submit

    submit(ipb, 3, seed=1)
    with django_assert_max_num_queries(8):
        html = admin.get("/studio/").content.decode()
    row = html.split('data-slug="ipb-survey"')[1].split("</tr>")[0]
    valid = ipb.responses.exclude(status="invalid").count()
    assert f"{valid} / 3" in row and "/s/ipb-survey/" in row and "/results/ipb-survey/" in row


def test_a_blank_questionnaire_starts_as_a_draft_with_one_question(admin):
    answer = admin.post("/studio/new/", {"source": "blank", "title": "满意度", "slug": "sat"})
    assert answer.status_code == 302 and answer["Location"] == "/studio/sat/"
    created = Questionnaire.objects.get(slug="sat")
    assert created.status == Questionnaire.Status.DRAFT and created.title == {"zh-hans": "满意度"}
    assert [q.code for q in created.questions.all()] == ["Q1"]


@pytest.mark.parametrize("template", ["satisfaction-nps", "event-feedback", "employee-engagement"])
def test_every_template_makes_a_valid_questionnaire(admin, template):
    answer = admin.post(
        "/studio/new/", {"source": "template", "template": template, "slug": f"t-{template}"}
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Questionnaire.objects.get(slug=f"t-{template}").questions.count() >= 4


def test_a_copy_and_a_taken_slug(ipb, admin):
    copied = admin.post("/studio/new/", {"source": "copy", "copy_of": "ipb-survey", "slug": "ipb2"})
    assert copied.status_code == 302
    assert Questionnaire.objects.get(slug="ipb2").questions.count() == ipb.questions.count()
    taken = admin.post("/studio/new/", {"source": "blank", "title": "x", "slug": "ipb2"})
    assert taken.status_code == 400
    assert "ipb2" in taken.context["form"].errors["slug"][0]


def test_an_unreadable_file_is_refused_with_its_reason(admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("broken.yaml", b"format: [unclosed")
    answer = admin.post("/studio/new/", {"source": "file", "slug": "f", "file": upload})
    assert answer.status_code == 400 and answer.context["form"].non_field_errors()
    assert not Questionnaire.objects.filter(slug="f").exists()


# --- the builder ----------------------------------------------------------------------------


@pytest.fixture
def blank(admin) -> str:
    admin.post("/studio/new/", {"source": "blank", "title": "测试", "slug": "built"})
    return "built"


def test_a_question_added_from_the_palette_is_stored_in_the_draft(admin, blank):
    answer = admin.post(
        "/studio/built/questions/add/",
        {"type": "matrix", "section": "A", "etag": etag(admin, blank)},
    )
    assert answer.status_code == 302 and "q=Q2" in answer["Location"]
    added = question(draft(blank), "Q2")
    assert added["type"] == "matrix" and len(added["scale"]) == 5 and len(added["items"]) == 2
    assert not Questionnaire.objects.get(slug=blank).questions.filter(code="Q2").exists()


def etag(client: Client, slug: str) -> str:
    return client.get(f"/studio/{slug}/").context["state"].etag


def test_editing_a_question_saves_labels_required_options_and_pasted_lines(admin, blank):
    page = admin.get("/studio/built/?q=Q1")
    data = editor_data(page)
    data.update(
        {"q-label_zh-hans": "您的性别", "q-label_en": "Gender", "options-0-label_zh-hans": "男"}
    )
    data.pop("q-required", None)
    data["choices_paste"] = "女\n9=不愿透露"
    answer = admin.post("/studio/built/questions/Q1/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    saved = question(draft(blank), "Q1")
    assert saved["label"] == {"zh-hans": "您的性别", "en": "Gender"}
    assert saved["required"] is False
    assert [o["code"] for o in saved["options"]] == [1, 2, 3, 9]
    assert saved["options"][0]["label"]["zh-hans"] == "男"
    assert saved["options"][3]["label"] == {"zh-hans": "不愿透露"}


def test_a_refused_edit_shows_the_rulebooks_chinese_message_beside_the_field(admin, blank):
    data = editor_data(admin.get("/studio/built/?q=Q1"))
    data["options-1-code"] = "1"  # two options coded 1
    answer = admin.post("/studio/built/questions/Q1/", data)
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "编码 1 重复" in html
    assert DefinitionDraft.objects.count() == 0  # nothing stored


def test_a_wrong_show_if_is_refused_on_its_box(admin, blank):
    data = editor_data(admin.get("/studio/built/?q=Q1"))
    data["q-show_if"] = "Q9 == 1"
    answer = admin.post("/studio/built/questions/Q1/", data)
    assert answer.status_code == 400
    assert answer.context["editor"]["form"].errors["show_if"]


def test_an_edit_from_an_outdated_page_is_a_conflict_not_an_overwrite(admin, make_user, blank):
    page = admin.get("/studio/built/?q=Q1")
    other = client_as(make_user, "other", "admin")
    theirs = editor_data(other.get("/studio/built/?q=Q1"))
    theirs["q-label_zh-hans"] = "他们的修改"
    assert other.post("/studio/built/questions/Q1/", theirs).status_code == 302
    mine = editor_data(page)
    mine["q-label_zh-hans"] = "我的修改"
    answer = admin.post("/studio/built/questions/Q1/", mine)
    assert answer.status_code == 409 and "data-conflict" in answer.content.decode()
    assert question(draft(blank), "Q1")["label"]["zh-hans"] == "他们的修改"


def test_moving_questions_and_sections(admin, blank):
    admin.post(
        "/studio/built/questions/add/", {"type": "text", "section": "A", "etag": etag(admin, blank)}
    )
    admin.post("/studio/built/questions/Q2/move/", {"direction": "up", "etag": etag(admin, blank)})
    assert [q["code"] for q in draft(blank)["sections"][0]["questions"]] == ["Q2", "Q1"]
    admin.post("/studio/built/sections/add/", {"title": "第二部分", "etag": etag(admin, blank)})
    sections = draft(blank)["sections"]
    assert [s["code"] for s in sections] == ["A", "S1"] and sections[1]["title"][
        "zh-hans"
    ] == "第二部分"
    admin.post(
        "/studio/built/questions/Q1/move/", {"direction": "down", "etag": etag(admin, blank)}
    )
    sections = draft(blank)["sections"]
    assert [q["code"] for q in sections[1]["questions"]] == ["Q1", "Q3"]


def test_deleting_a_question_that_logic_reads_is_refused_naming_the_reader(ipb, admin):
    answer = admin.post(
        "/studio/ipb-survey/questions/Q2/delete/", {"etag": etag(admin, "ipb-survey")}
    )
    assert answer.status_code == 302
    shown = [str(m) for m in admin.get(answer["Location"]).context["messages"]]
    assert any("segments[0] (active).rule" in m for m in shown), shown
    assert question(draft("ipb-survey"), "Q2")


def test_publishing_applies_the_draft_and_opens_the_form(admin, blank):
    data = editor_data(admin.get("/studio/built/?q=Q1"))
    data["q-label_zh-hans"] = "发布前的修改"
    assert admin.post("/studio/built/questions/Q1/", data).status_code == 302
    admin.post(
        "/studio/built/questions/add/", {"type": "text", "section": "A", "etag": etag(admin, blank)}
    )
    page = admin.get("/studio/built/")
    # the diff from Definitions, before publishing
    assert [c["description"] for c in page.context["changes"]] == [
        "题目 Q2：已新增",
        "分节或题目顺序已更改",
    ]
    admin.post("/studio/built/publish/")
    published = Questionnaire.objects.get(slug=blank)
    assert published.status == Questionnaire.Status.OPEN
    assert published.questions.get(code="Q1").label["zh-hans"] == "发布前的修改"
    assert published.questions.get(code="Q2").type == "text"
    assert not DefinitionDraft.objects.filter(questionnaire=published).exists()
    assert Client().get("/s/built/").status_code == 200
    admin.post("/studio/built/close/")
    assert Questionnaire.objects.get(slug=blank).status == Questionnaire.Status.CLOSED


def test_autosave_answers_json_with_the_new_etag_or_why_not(admin, blank):
    data = editor_data(admin.get("/studio/built/?q=Q1"))
    data["q-label_zh-hans"] = "自动保存的题目"
    saved = admin.post("/studio/built/questions/Q1/", data, HTTP_X_AUTOSAVE="1")
    assert saved.status_code == 200 and saved.json()["saved"] is True
    assert saved.json()["etag"] == etag(admin, blank) != data["etag"]
    assert question(draft(blank), "Q1")["label"]["zh-hans"] == "自动保存的题目"
    stale = admin.post("/studio/built/questions/Q1/", data, HTTP_X_AUTOSAVE="1")
    assert stale.status_code == 409 and stale.json()["saved"] is False
    data["etag"] = saved.json()["etag"]
    data["options-1-code"] = "1"
    refused = admin.post("/studio/built/questions/Q1/", data, HTTP_X_AUTOSAVE="1")
    assert refused.status_code == 400 and "保存到草稿" in refused.json()["message"]


def test_the_attention_check_is_picked_among_the_questions_options(admin):
    admin.post(
        "/studio/new/", {"source": "template", "template": "employee-engagement", "slug": "staff"}
    )
    page = admin.get("/studio/staff/?q=W2")
    field = page.context["editor"]["form"].fields["attention_expect"]
    assert [value for value, _label in field.choices] == ["", "1", "2", "3"]
    assert '<option value="2" selected>' in page.content.decode()
    data = editor_data(page)
    data["q-attention_expect"] = "3"
    assert admin.post("/studio/staff/questions/W2/", data).status_code == 302
    assert question(draft("staff"), "W2")["attention_check"] == {"expect": 3}
    data = editor_data(admin.get("/studio/staff/?q=W2"))
    data["q-attention_expect"] = "9"  # not an option: refused by the form, beside the field
    refused = admin.post("/studio/staff/questions/W2/", data)
    assert (
        refused.status_code == 400 and refused.context["editor"]["form"].errors["attention_expect"]
    )
