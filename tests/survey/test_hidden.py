"""Hiding instead of removing: a question or option with answers can stop being asked or
offered (``hidden: true``) while its answers stay in the data and the results; removing it is
refused with the number of answers it would orphan."""

from __future__ import annotations

import copy
import uuid

import pytest
from django.urls import reverse

from survey.interchange import DefinitionError
from survey.models import Option, Question, Response
from survey.services.questionnaires import questionnaire_export, questionnaire_import
from survey.services.responses import AnswersInvalid, response_submit
from survey.xlsform import xlsform_read, xlsform_write
from tests.survey.answers import complete_answers
from tests.survey.test_admin import _errors, form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _question(document: dict, code: str) -> dict:
    return next(q for s in document["sections"] for q in s["questions"] if q["code"] == code)


def _submit(questionnaire, answers, **kwargs):
    return response_submit(
        questionnaire=questionnaire,
        answers=answers,
        submission_id=uuid.uuid4(),
        channel="api",
        **kwargs,
    )


def _hide(questionnaire, *, option: tuple[str, int] | None = None, question: str | None = None):
    document = questionnaire_export(questionnaire=questionnaire)
    if option is not None:
        code, index = option
        _question(document, code)["options"][index]["hidden"] = True
    if question is not None:
        _question(document, question)["hidden"] = True
    return questionnaire_import(definition=document, replace=True), document


def test_hidden_round_trips_through_files_and_xlsform(ipb_draft):
    questionnaire, document = _hide(ipb_draft, option=("D6", 6), question="Q18")
    exported = questionnaire_export(questionnaire=questionnaire)
    assert exported == document
    assert _question(exported, "D6")["options"][6]["hidden"] is True
    assert _question(exported, "Q18")["hidden"] is True
    assert xlsform_read(xlsform_write(exported)).document == exported


def test_an_answered_option_can_be_hidden_but_not_removed(ipb):
    _submit(ipb, complete_answers(D6=7))
    version = ipb.definition_version
    document = questionnaire_export(questionnaire=ipb)
    removed = copy.deepcopy(document)
    _question(removed, "D6")["options"].pop(6)
    with pytest.raises(DefinitionError) as refused:
        questionnaire_import(definition=removed, replace=True)
    assert (
        "question D6: option 7 removed (1 answer); to keep them, mark it hidden (hidden: true) "
        "instead of removing it"
    ) in refused.value.problems

    questionnaire, _document = _hide(ipb, option=("D6", 6))
    assert Option.objects.get(question__code="D6", code="7").hidden
    # Hiding changes what is offered, not what the analysis reads: results are not stale.
    assert questionnaire.definition_version == version
    assert Response.objects.get().answers["D6"] == 7


def test_a_hidden_option_is_not_offered_and_not_taken(ipb, client):
    _hide(ipb, option=("D6", 6))
    page = client.get(reverse("survey:form", args=["ipb-survey"])).content.decode()
    assert 'name="D6" value="7"' not in page and 'name="D6" value="6"' in page
    with pytest.raises(AnswersInvalid) as refused:
        _submit(ipb, complete_answers(D6=7))
    assert refused.value.fields == {"D6": ["“Social organisation” is no longer offered in D6."]}


def test_a_hidden_question_is_not_asked_and_not_taken(ipb, client):
    _hide(ipb, question="Q18")
    page = client.get(reverse("survey:form", args=["ipb-survey"])).content.decode()
    assert 'data-q="Q18"' not in page and 'data-q="Q13"' in page
    answers = complete_answers(Q18="还有话说")
    with pytest.raises(AnswersInvalid) as refused:
        _submit(ipb, answers)
    assert refused.value.fields == {"Q18": ["This question is no longer asked."]}
    # The form drops it, as it drops answers to questions show_if hides.
    assert "Q18" not in _submit(ipb, answers, drop_hidden=True).response.answers


def test_the_admin_hides_an_option_of_a_questionnaire_with_responses(ipb, admin_client):
    _submit(ipb, complete_answers(D6=7))
    d6 = Question.objects.get(questionnaire=ipb, code="D6")
    url = reverse("admin:survey_question_change", args=[d6.pk])
    data = form_data(admin_client, url, "question_form")
    data["options-6-hidden"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, _errors(response)
    assert Option.objects.get(question=d6, code="7").hidden


def test_a_hidden_other_option_keeps_its_texts_in_the_export(ipb, client):
    _submit(ipb, complete_answers(D6=8, **{"D6.other": "协会"}))
    _hide(ipb, option=("D6", 7))
    page = client.get(reverse("survey:form", args=["ipb-survey"])).content.decode()
    assert 'name="D6.other"' not in page  # no longer offered on the form …
    from survey.structure import structure_for

    ipb.refresh_from_db()
    structure = structure_for(ipb)
    assert structure.questions["D6"].has_other  # … but still in the data and its exports
    assert not structure.questions["D6"].offers_other
