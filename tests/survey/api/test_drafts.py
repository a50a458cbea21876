"""The admins' definition API: drafts with ETag/If-Match, the diff, publishing, and creating a
questionnaire from a document."""

from __future__ import annotations

import copy
import re
import uuid

import pytest
from rest_framework.authtoken.models import Token

from survey.models import DefinitionDraft, Questionnaire, Response
from survey.services.questionnaires import questionnaire_export, questionnaire_import
from survey.services.responses import response_submit
from tests.schema_run import MODE_NAMES, api_operations, fixed_or_free, schema_run
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db

DRAFT = "/api/v1/questionnaires/ipb-survey/definition/draft/"
DIFF = "/api/v1/questionnaires/ipb-survey/definition/diff/"
PUBLISH = "/api/v1/questionnaires/ipb-survey/definition/publish/"
CREATE = "/api/v1/questionnaires/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def admin(make_user, client_for):
    return client_for(make_user("builder", "admin"))


def _question(document, code):
    return next(q for s in document["sections"] for q in s["questions"] if q["code"] == code)


def _read(admin):
    answer = admin.get(DRAFT)
    assert answer.status_code == 200, answer.json()
    return answer.json()["definition"], answer["ETag"]


def _put(admin, document, etag, **headers):
    extra = {"HTTP_IF_MATCH": etag} if etag else {}
    return admin.put(DRAFT, {"definition": document}, format="json", **extra, **headers)


@pytest.mark.parametrize("role", [None, "analyst", "collector"])
def test_only_admins_read_and_edit_drafts(ipb, make_user, client_for, role):
    client = client_for(make_user("someone", role, grants=(ipb,)) if role else None)
    expected = 401 if role is None else 403
    assert client.get(DRAFT).status_code == expected
    assert client.put(DRAFT, {"definition": {}}, format="json").status_code == expected
    assert client.post(PUBLISH).status_code == expected
    assert client.get(DIFF).status_code == expected
    assert client.post(CREATE, {"definition": {}}, format="json").status_code == expected


def test_without_a_draft_the_definition_in_force_is_served_with_an_etag(ipb, admin):
    answer = admin.get(DRAFT)
    body = answer.json()
    assert body["drafted"] is False and body["revision"] == 0
    assert body["definition"] == questionnaire_export(questionnaire=ipb)
    assert answer["ETag"].startswith('"p-')


def test_a_save_needs_if_match_and_a_stale_one_is_refused(ipb, admin):
    document, _etag = _read(admin)
    refused = _put(admin, document, None)
    assert refused.status_code == 428 and refused.json()["error"] == "precondition_required"
    stale = _put(admin, document, '"p-0000"')
    assert stale.status_code == 412 and stale.json()["error"] == "edit_conflict"
    assert not DefinitionDraft.objects.exists()


def test_a_saved_draft_leaves_the_definition_in_force_until_it_is_published(ipb, admin, client):
    document, etag = _read(admin)
    _question(document, "D1")["label"] = {"zh-hans": "性别", "en": "Sex"}
    saved = _put(admin, document, etag)
    assert saved.status_code == 200 and saved.json()["drafted"] is True
    assert saved["ETag"] != etag

    public = client.get("/api/v1/questionnaires/ipb-survey/definition/").json()["definition"]
    assert _question(public, "D1")["label"]["en"] == "Gender"
    changes = admin.get(DIFF).json()["changes"]
    assert [(c["what"], c["structural"]) for c in changes] == []  # a label is not a change here

    published = admin.post(PUBLISH)
    assert published.status_code == 200
    assert _question(published.json()["definition"], "D1")["label"]["en"] == "Sex"
    assert published.json()["definition_version"] == 1  # the analysis reads no label
    assert not DefinitionDraft.objects.exists()
    assert admin.post(PUBLISH).json()["error"] == "no_draft"


def test_a_draft_whose_base_changed_is_not_published_over_the_change(ipb, admin):
    document, etag = _read(admin)
    _question(document, "Q3")["options"][0]["score"] = 4
    assert _put(admin, document, etag).status_code == 200
    in_force = questionnaire_export(questionnaire=ipb)  # meanwhile, an edit in the admin
    _question(in_force, "D1")["label"] = {"zh-hans": "性别", "en": "Sex"}
    questionnaire_import(definition=in_force, replace=True)

    refused = admin.post(PUBLISH, **EN)

    assert refused.status_code == 409 and refused.json()["error"] == "base_changed"
    assert _question(questionnaire_export(questionnaire=ipb), "D1")["label"]["en"] == "Sex"
    assert admin.delete(DRAFT).status_code == 204
    assert not DefinitionDraft.objects.exists()
    assert admin.get(DRAFT).json()["drafted"] is False


def test_two_saves_from_one_etag_store_one(ipb, admin):
    document, etag = _read(admin)
    first = copy.deepcopy(document)
    _question(first, "Q3")["options"][0]["score"] = 4
    second = copy.deepcopy(document)
    _question(second, "Q3")["options"][0]["score"] = 3

    assert _put(admin, first, etag).status_code == 200
    assert _put(admin, second, etag).status_code == 412
    assert _question(DefinitionDraft.objects.get().document, "Q3")["options"][0]["score"] == 4


def test_an_invalid_document_is_refused_whole_with_every_problem_in_the_clients_language(
    ipb, admin
):
    document, etag = _read(admin)
    options = _question(document, "D1")["options"]
    options[1]["code"] = options[0]["code"]
    document["scores"][0]["of"] = "Q18"

    english = _put(admin, document, etag, **EN)
    chinese = _put(admin, document, etag)

    assert english.status_code == chinese.status_code == 400
    body = english.json()
    assert body["error"] == "invalid_definition"
    assert [(e["code"], e["path"]) for e in body["errors"]] == [
        ("duplicate_code", "sections[0].questions[0].options"),
        ("score_on_text", "scores[0].of"),
    ]
    assert body["fields"]["scores[0].of"] == [body["errors"][1]["message"]]
    assert "only single and matrix questions have scores" in body["errors"][1]["message"]
    assert "只有单选题和矩阵量表题可以计分" in chinese.json()["errors"][1]["message"]
    assert not DefinitionDraft.objects.exists()


def test_a_draft_cannot_rename_its_questionnaire(ipb, admin):
    document, etag = _read(admin)
    document["slug"] = "renamed"
    answer = _put(admin, document, etag, **EN)
    assert answer.status_code == 400
    assert [e["code"] for e in answer.json()["errors"]] == ["slug_changed"]


def _answered(ipb, count=3):
    for _ in range(count):
        response_submit(
            questionnaire=ipb,
            answers=complete_answers(D1=2),
            submission_id=uuid.uuid4(),
            channel=Response.Channel.API,
        )


def test_an_edit_that_would_orphan_answers_is_refused_with_their_count(ipb, admin):
    _answered(ipb)
    document, etag = _read(admin)
    _question(document, "D1")["options"].pop()  # option 2, which every response chose
    assert _put(admin, document, etag).status_code == 200

    (removed,) = [c for c in admin.get(DIFF, **EN).json()["changes"] if c["structural"]]
    assert (removed["what"], removed["change"], removed["code"], removed["answers"]) == (
        "option",
        "removed",
        "2",
        3,
    )
    refused = admin.post(PUBLISH, **EN)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "definition_conflict"
    (problem,) = body["errors"]
    assert problem["code"] == "structural_change" and problem["value"] == 3
    assert problem["message"] == (
        "question D1: option 2 removed (3 answers); to keep them, mark it hidden "
        "(hidden: true) instead of removing it"
    )
    assert DefinitionDraft.objects.exists()
    assert len(_question(questionnaire_export(questionnaire=ipb), "D1")["options"]) == 2


def test_publishing_a_score_change_raises_the_version_and_keeps_old_responses_version(ipb, admin):
    _answered(ipb, 1)
    document, etag = _read(admin)
    _question(document, "Q3")["options"][0]["score"] = 4.5
    _put(admin, document, etag)

    published = admin.post(PUBLISH).json()

    assert published["definition_version"] == 2
    assert list(Response.objects.values_list("definition_version", flat=True)) == [1]


def test_a_questionnaire_is_created_from_a_document(db, admin, reference_definition_path):
    from survey.interchange import load_definition

    document = load_definition(reference_definition_path.read_text(encoding="utf-8"))
    document["slug"] = "new-survey"

    created = admin.post(CREATE, {"definition": document}, format="json")
    again = admin.post(CREATE, {"definition": document}, format="json", **EN)
    document["slug"] = "Not A Slug"
    invalid = admin.post(CREATE, {"definition": document}, format="json")

    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert Questionnaire.objects.filter(slug="new-survey").exists()
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "slug_taken"
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["code"] == "invalid_slug"


DEFINITIONS_API = re.compile(r"^/api/v1/questionnaires/(\{slug\}/definition/[a-z]+/)?$")


@pytest.mark.parametrize("mode_name", sorted(MODE_NAMES))
def test_no_generated_request_to_the_definition_api_causes_a_server_error(
    ipb, make_user, keep_test_connection, settings, mode_name
):
    settings.ALLOWED_HOSTS = ["*"]
    token = Token.objects.create(user=make_user("fuzzer", "admin")).key
    operations = api_operations(DEFINITIONS_API)
    assert len(operations) == 6
    unsatisfiable = schema_run(
        operations=operations,
        mode_name=mode_name,
        token=token,
        strategy=fixed_or_free({"slug": "ipb-survey"}),
        max_examples=25,
        check_headers=True,
    )
    assert len(unsatisfiable) < len(operations)
