"""The admin's draft page: upload a definition file as the draft, see what publishing would
change and the answers it touches, publish or discard; the same services as the drafts API."""

from __future__ import annotations

import io
import uuid

import pytest
from django.urls import reverse

from survey.interchange import dump_definition
from survey.models import DefinitionDraft, Questionnaire
from survey.services.questionnaires import questionnaire_export
from survey.services.responses import response_submit
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _question(document: dict, code: str) -> dict:
    return next(q for s in document["sections"] for q in s["questions"] if q["code"] == code)


def _url(questionnaire: Questionnaire) -> str:
    return reverse("admin:survey_questionnaire_draft", args=[questionnaire.pk])


def _upload(admin_client, questionnaire, document, etag=None, name="next.yaml"):
    page = admin_client.get(_url(questionnaire))
    etag = etag or page.context["form"].initial["etag"]
    upload = io.BytesIO(dump_definition(document, fmt="yaml").encode())
    upload.name = name
    return admin_client.post(
        _url(questionnaire), {"action": "upload", "etag": etag, "file": upload}, follow=True
    )


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_score_change_is_drafted_shown_and_published(admin_client, ipb):
    version = ipb.definition_version
    document = questionnaire_export(questionnaire=ipb)
    _question(document, "Q3")["options"][0]["score"] = 4.5
    page = _upload(admin_client, ipb, document)
    assert _messages(page) == ["next.yaml was saved as the draft of ipb-survey."]
    [change] = page.context["changes"]
    assert change["description"] == "question Q3: option 1: score changed to 4.5"
    assert "question Q3: option 1: score changed to 4.5" in page.content.decode()
    # Nothing changes for respondents until it is published.
    assert _question(questionnaire_export(questionnaire=ipb), "Q3")["options"][0]["score"] == 5

    published = admin_client.post(_url(ipb), {"action": "publish"}, follow=True)
    ipb.refresh_from_db()
    assert ipb.definition_version == version + 1
    assert _messages(published) == [
        f"The draft of ipb-survey was published as definition version {version + 1}."
    ]
    assert _question(questionnaire_export(questionnaire=ipb), "Q3")["options"][0]["score"] == 4.5
    assert not DefinitionDraft.objects.exists()


def test_an_invalid_file_is_refused_with_every_problem_and_nothing_stored(admin_client, ipb):
    document = questionnaire_export(questionnaire=ipb)
    _question(document, "Q16")["max_choices"] = 9
    page = _upload(admin_client, ipb, document)
    assert page.context["form"].errors["file"] == [
        "sections[3].questions[6] (Q16).max_choices: 9 is more than the 5 options"
    ]
    assert not DefinitionDraft.objects.exists()


def test_a_stale_page_does_not_overwrite_a_newer_draft(admin_client, ipb):
    stale = admin_client.get(_url(ipb)).context["form"].initial["etag"]
    document = questionnaire_export(questionnaire=ipb)
    _question(document, "Q3")["options"][0]["score"] = 4.5
    _upload(admin_client, ipb, document)
    _question(document, "Q3")["options"][0]["score"] = 3.5
    page = _upload(admin_client, ipb, document, etag=stale)
    assert page.context["form"].non_field_errors() == [
        "The definition was changed since you opened it; reload it and edit again."
    ]
    draft = DefinitionDraft.objects.get()
    assert _question(draft.document, "Q3")["options"][0]["score"] == 4.5


def test_removing_an_answered_option_is_refused_with_its_answers_and_the_draft_kept(
    admin_client, ipb
):
    response_submit(
        questionnaire=ipb,
        answers=complete_answers(D6=7),
        submission_id=uuid.uuid4(),
        channel="api",
    )
    document = questionnaire_export(questionnaire=ipb)
    _question(document, "D6")["options"].pop(6)
    page = _upload(admin_client, ipb, document)
    [change] = [c for c in page.context["changes"] if c["structural"]]
    assert (change["description"], change["answers"]) == ("question D6: option 7 removed", 1)

    refused = admin_client.post(_url(ipb), {"action": "publish"}, follow=True)
    [message] = _messages(refused)
    assert message.endswith(
        "question D6: option 7 removed (1 answer); to keep them, mark it hidden (hidden: true) "
        "instead of removing it"
    )
    assert DefinitionDraft.objects.exists()
    discarded = admin_client.post(_url(ipb), {"action": "discard"}, follow=True)
    assert _messages(discarded) == ["The draft was discarded."]
    assert not DefinitionDraft.objects.exists()


def test_only_those_who_may_change_questionnaires_see_the_draft_page(client, ipb, make_user):
    client.force_login(make_user("reader", "analyst", grants=(ipb,)))
    response = client.get(_url(ipb))
    assert response.status_code == 302 and "/login/" in response["Location"]
