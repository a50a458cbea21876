"""The live preview renders the draft with the form's own renderer, framed by our pages only,
and stores nothing; a document's structure is the published one's, ids aside."""

from __future__ import annotations

import dataclasses

import pytest

from survey.models import Response
from survey.services.drafts import definition_draft_get
from survey.structure import structure_build, structure_from_document
from tests.studio.test_builder import admin, client_as, editor_data  # noqa: F401

pytestmark = pytest.mark.django_db
PREVIEW = "/studio/ipb-survey/preview/"


def without_ids(structure):
    def plain(question):
        return dataclasses.replace(
            question,
            id=0,
            options={k: dataclasses.replace(o, id=0) for k, o in question.options.items()},
            items={k: dataclasses.replace(i, id=0) for k, i in question.items.items()},
        )

    return {code: plain(q) for code, q in structure.questions.items()}


def test_a_documents_structure_is_the_published_one_ids_aside(ipb):
    document = definition_draft_get(questionnaire=ipb).document
    built = structure_from_document(document, questionnaire=ipb)
    assert without_ids(built) == without_ids(structure_build(ipb))
    assert all(q.id < 0 for q in built.questions.values())


def test_the_preview_shows_the_draft_not_the_published_form(ipb, admin, client):  # noqa: F811
    data = editor_data(admin.get("/studio/ipb-survey/?q=D1"))
    data["q-label_zh-hans"] = "草稿里的性别题"
    assert admin.post("/studio/ipb-survey/questions/D1/", data).status_code == 302
    preview = admin.get(PREVIEW)
    assert "草稿里的性别题" in preview.content.decode()
    assert "草稿里的性别题" not in client.get("/s/ipb-survey/").content.decode()
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/s/ipb-survey/")["Content-Security-Policy"]


def test_answers_sent_in_the_preview_are_checked_and_never_stored(ipb, admin):  # noqa: F811
    from tests.survey.answers import complete_answers

    answers = complete_answers()
    page = admin.get(PREVIEW).content.decode()
    token = page.split('name="start_token" value="')[1].split('"')[0]
    body = {"start_token": token}
    for code, value in answers.items():
        if isinstance(value, dict):
            body.update({f"{code}.{item}": str(v) for item, v in value.items()})
        elif isinstance(value, list):
            body[code] = [str(v) for v in value]
        else:
            body[code] = str(value)
    answered = admin.post(PREVIEW, body)
    assert answered.status_code == 200
    assert "预览：答案有效，未保存任何数据。" in answered.content.decode()
    assert Response.objects.count() == 0


def test_the_preview_needs_a_grant(ipb, make_user, client):
    assert client.get(PREVIEW).status_code == 302
    assert client_as(make_user, "o", "analyst").get(PREVIEW).status_code == 404
    assert client_as(make_user, "a", "analyst", grants=(ipb,)).get(PREVIEW).status_code == 200
