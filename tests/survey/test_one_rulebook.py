"""One rulebook: the same bad edit gives the same code, path and message through a definition
file, the drafts API, an XLSForm and the admin's pages, in English and in Chinese."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse
from django.utils import translation

from survey.interchange import DefinitionError, dump_definition, read_definition_file
from survey.interchange_checks import definition_problems
from survey.models import Question, Questionnaire
from survey.services.questionnaires import questionnaire_export, questionnaire_import
from survey.xlsform import xlsform_write
from tests.survey.test_admin import _errors, form_data

pytestmark = pytest.mark.django_db

DRAFT = "/api/v1/questionnaires/ipb-survey/definition/draft/"


def _question(document: dict, code: str) -> dict:
    return next(q for s in document["sections"] for q in s["questions"] if q["code"] == code)


# mutation of the document; the same edit on the question page (question code, form changes)
CATALOGUE = {
    "duplicate option code": (
        lambda d: _question(d, "D1")["options"][1].update(code=1),
        ("D1", {"options-1-code": "1"}),
    ),
    "dangling show_if": (
        lambda d: _question(d, "Q15R").update(show_if="Q99 == 1"),
        ("Q15R", {"show_if": "Q99 == 1"}),
    ),
    "show_if on a missing option": (
        lambda d: _question(d, "Q15R").update(show_if="Q15 == 9"),
        ("Q15R", {"show_if": "Q15 == 9"}),
    ),
    "show_if on a later question": (
        lambda d: _question(d, "Q15R").update(show_if="Q18 == 'x'"),
        ("Q15R", {"show_if": "Q18 == 'x'"}),
    ),
    "exclusive on a single question": (
        lambda d: _question(d, "D1")["options"][0].update(exclusive=True),
        ("D1", {"options-0-exclusive": "on"}),
    ),
    "max_choices above the options": (
        lambda d: _question(d, "Q16").update(max_choices=9),
        ("Q16", {"max_choices": "9"}),
    ),
    "min above max": (
        lambda d: _question(d, "Q2").update(min=100),
        ("Q2", {"min_value": "100"}),
    ),
    "bad item code": (
        lambda d: _question(d, "Q2")["items"][0].update(code="a-b"),
        ("Q2", {"items-0-code": "a-b"}),
    ),
    "attention check on a text question": (
        lambda d: _question(d, "Q18").update(attention_check={"expect": 1}),
        ("Q18", {"attention_expect": "1"}),
    ),
}


@pytest.fixture
def reference(ipb_draft) -> dict:
    return questionnaire_export(questionnaire=ipb_draft)


def _admin_messages(admin_client, questionnaire: Questionnaire, code: str, changes: dict):
    question = Question.objects.get(questionnaire=questionnaire, code=code)
    url = reverse("admin:survey_question_change", args=[question.pk])
    data = form_data(admin_client, url, "question_form")
    data.update(changes)
    errors = _errors(admin_client.post(url, data))
    return sorted(m for messages in errors.values() for m in messages)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("name", CATALOGUE)
def test_every_path_gives_the_same_answer(
    admin_client, make_user, client_for, reference, ipb_draft, settings, name, language
):
    mutate, (code, changes) = CATALOGUE[name]
    document = copy.deepcopy(reference)
    mutate(document)
    settings.LANGUAGE_CODE = language
    with translation.override(language):
        problems = definition_problems(document)
    assert problems, name
    expected = sorted((p.code, p.path, p.message) for p in problems)

    # A definition file (YAML), as the import command and the admin's upload read it.
    data = dump_definition(document, fmt="yaml").encode()
    with translation.override(language), pytest.raises(DefinitionError) as refused:
        questionnaire_import(definition=read_definition_file(data, filename="d.yaml").document)
    assert sorted(refused.value.problems) == sorted(str(p) for p in problems)

    # The drafts API: the same code, path and message, in the request's language.
    api = client_for(make_user("builder", "admin"))
    etag = api.get(DRAFT)["ETag"]
    answer = api.put(
        DRAFT,
        {"definition": document},
        format="json",
        HTTP_IF_MATCH=etag,
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert answer.status_code == 400
    got = sorted((e["code"], e["path"], e["message"]) for e in answer.json()["errors"])
    assert got == expected

    # The admin's question page: the same messages, beside their fields.
    assert _admin_messages(admin_client, ipb_draft, code, changes) == sorted(
        p.message for p in problems
    )


def test_an_xlsform_with_a_bad_rule_is_refused_with_the_same_problem(reference):
    document = copy.deepcopy(reference)
    _question(document, "Q16")["max_choices"] = 9
    data = xlsform_write(document)
    with translation.override("en"), pytest.raises(DefinitionError) as refused:
        questionnaire_import(
            definition=read_definition_file(data, filename="f.xlsx").document, replace=True
        )
    with translation.override("en"):
        assert refused.value.problems == [str(p) for p in definition_problems(document)]
