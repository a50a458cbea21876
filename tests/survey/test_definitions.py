"""One analysis digest and one structural diff of the definition document
(survey.services.definitions)."""

from __future__ import annotations

import copy

import pytest

from survey.interchange import load_definition
from survey.models import Questionnaire
from survey.services.definitions import definition_diff, definition_digest
from survey.services.questionnaires import questionnaire_export, questionnaire_import
from tests.conftest import EXAMPLE_DEFINITION

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def reference():
    return load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))


def _question(document, code):
    return next(q for s in document["sections"] for q in s["questions"] if q["code"] == code)


def _label_fix(d):
    _question(d, "D1")["label"] = {"zh-hans": "您的性别（必填）", "en": "Your gender"}
    d["title"] = "A new title"


def _score(d):
    _question(d, "Q3")["options"][0]["score"] = 4.5


def _rule(d):
    d["segments"][0]["rule"] = "Q4 == 1"


def _option_removed(d):
    _question(d, "Q3")["options"].pop()


def _validity(d):
    d["validity"]["speeder"]["below_fraction_of_median"] = 0.5


def _banner(d):
    d["analysis"]["banner"].remove("D1")


EDITS = {
    "label fix": (_label_fix, False),
    "score": (_score, True),
    "segment rule": (_rule, True),
    "option removed": (_option_removed, True),
    "validity rule": (_validity, True),
    "banner": (_banner, True),
}


@pytest.mark.parametrize("name", EDITS)
def test_the_digest_moves_only_when_the_analysis_reads_what_changed(reference, name):
    edit, read = EDITS[name]
    changed = copy.deepcopy(reference)
    edit(changed)
    assert (definition_digest(changed) != definition_digest(reference)) is read


def test_the_digest_of_a_stored_questionnaire_is_the_digest_of_its_file(db, reference):
    questionnaire = questionnaire_import(definition=copy.deepcopy(reference))
    exported = questionnaire_export(questionnaire=questionnaire)
    assert definition_digest(exported) == definition_digest(reference)


@pytest.mark.parametrize("name", EDITS)
def test_a_file_replace_raises_the_version_exactly_when_the_digest_moves(db, reference, name):
    edit, read = EDITS[name]
    questionnaire_import(definition=copy.deepcopy(reference))
    changed = copy.deepcopy(reference)
    edit(changed)
    questionnaire_import(definition=changed, replace=True)
    assert Questionnaire.objects.get().definition_version == (2 if read else 1)


def test_the_diff_lists_structural_changes_in_reading_order(reference):
    changed = copy.deepcopy(reference)
    _option_removed(changed)
    _question(changed, "Q16")["options"].append({"code": 9, "label": "x", "exclusive": True})
    _question(changed, "Q8")["options"][0]["exclusive"] = True
    _score(changed)

    changes = definition_diff(reference, changed)

    structural = [c.sentence() for c in changes if c.structural]
    assert structural == [
        "question Q3: option 5 removed",
        "question Q8: option 1: exclusive changed to true",
        "question Q16: option 9 added",
    ]
    (score,) = [c for c in changes if c.field == "score"]
    assert (score.question, score.code, score.new, score.structural) == ("Q3", "1", 4.5, False)


def test_codes_compare_canonically_and_layout_is_not_structure(reference):
    changed = copy.deepcopy(reference)
    for option in _question(changed, "D1")["options"]:
        option["code"] = str(option["code"])
    moved = changed["sections"][0]["questions"].pop()
    changed["sections"][1]["questions"].insert(0, moved)

    changes = definition_diff(reference, changed)

    assert [c.what for c in changes] == ["layout"]
    assert not any(c.structural for c in changes)


def test_every_change_reads_as_a_sentence_and_as_data(reference):
    changed = copy.deepcopy(reference)
    for name, (edit, _read) in EDITS.items():
        if name != "label fix":
            edit(changed)
    changes = definition_diff(reference, changed)
    kinds = {c.what for c in changes}
    assert {"option", "segment", "validity", "banner"} <= kinds
    for change in changes:
        as_dict = change.as_dict()
        assert as_dict["description"] and set(as_dict) >= {"what", "change", "structural"}
