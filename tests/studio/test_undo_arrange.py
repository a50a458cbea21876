"""Undo pops the draft's saves one by one (never repeating an etag), back to the definition
in force; drag and drop places questions across sections through the rulebook."""

from __future__ import annotations

import json

import pytest

from survey.models import DefinitionDraft, DefinitionUndo
from survey.services.drafts import (
    UNDO_DEPTH,
    NothingToUndo,
    definition_draft_get,
    definition_draft_save,
    definition_draft_undo,
)
from tests.studio.test_builder import admin, draft, etag, question  # noqa: F401

pytestmark = pytest.mark.django_db


def relabel(questionnaire, text):
    state = definition_draft_get(questionnaire=questionnaire)
    document = state.document
    question(document, "D1")["label"] = {"zh-hans": text}
    return definition_draft_save(
        questionnaire=questionnaire, document=document, if_match=state.etag, user=None
    )


def test_undo_steps_back_save_by_save_to_the_definition_in_force(ipb):
    original = question(definition_draft_get(questionnaire=ipb).document, "D1")["label"]
    seen = {definition_draft_get(questionnaire=ipb).etag}
    for text in ("一", "二", "三"):
        seen.add(relabel(ipb, text).etag)
    state = definition_draft_undo(questionnaire=ipb, if_match=relabel(ipb, "四").etag, user=None)
    assert question(state.document, "D1")["label"] == {"zh-hans": "三"}
    assert state.etag not in seen  # an older page cannot save over it
    for expected in ("二", "一"):
        state = definition_draft_undo(questionnaire=ipb, if_match=state.etag, user=None)
        assert question(state.document, "D1")["label"] == {"zh-hans": expected}
    state = definition_draft_undo(questionnaire=ipb, if_match=state.etag, user=None)
    assert state.drafted is False and question(state.document, "D1")["label"] == original
    assert not DefinitionDraft.objects.exists() and not DefinitionUndo.objects.exists()
    with pytest.raises(NothingToUndo):
        definition_draft_undo(questionnaire=ipb, if_match=state.etag, user=None)


def test_the_stack_keeps_the_newest_steps_only(ipb):
    for n in range(UNDO_DEPTH + 5):
        relabel(ipb, f"第{n}版")
    assert DefinitionUndo.objects.filter(questionnaire=ipb).count() == UNDO_DEPTH


def test_the_builders_undo_button(ipb, admin):  # noqa: F811
    relabel(ipb, "改过的")
    page = admin.get("/studio/ipb-survey/")
    assert "data-undo" in page.content.decode()
    admin.post("/studio/ipb-survey/undo/", {"etag": page.context["state"].etag})
    assert "data-undo" not in admin.get("/studio/ipb-survey/").content.decode()
    stale = admin.post("/studio/ipb-survey/undo/", {"etag": '"old"'}, follow=True)
    assert any("其他人" in str(m) for m in stale.context["messages"])


def test_drag_and_drop_moves_a_question_into_another_section(ipb, admin):  # noqa: F811
    document = draft("ipb-survey")
    layout = {s["code"]: [q["code"] for q in s["questions"]] for s in document["sections"]}
    layout["A"].remove("D6")
    layout["B"].insert(0, "D6")
    answer = admin.post(
        "/studio/ipb-survey/questions/arrange/",
        {"layout": json.dumps(layout), "moved": "D6", "etag": etag(admin, "ipb-survey")},
    )
    assert answer.status_code == 302 and "q=D6" in answer["Location"]
    sections = draft("ipb-survey")["sections"]
    assert sections[1]["questions"][0]["code"] == "D6"
    assert "D6" not in [q["code"] for q in sections[0]["questions"]]


def test_a_layout_that_loses_a_question_is_refused(ipb, admin):  # noqa: F811
    before = draft("ipb-survey")
    layout = {s["code"]: [q["code"] for q in s["questions"]] for s in before["sections"]}
    layout["A"].remove("D6")
    answer = admin.post(
        "/studio/ipb-survey/questions/arrange/",
        {"layout": json.dumps(layout), "etag": etag(admin, "ipb-survey")},
        follow=True,
    )
    assert any("刷新" in str(m) for m in answer.context["messages"])
    assert draft("ipb-survey") == before
    broken = admin.post("/studio/ipb-survey/questions/arrange/", {"layout": "[1"}, follow=True)
    assert broken.status_code == 200 and draft("ipb-survey") == before
