"""Problems of a definition as data: a stable code, a clean path, the offending value and a
message in the active language (zh-hans by default, English on request)."""

from __future__ import annotations

import copy

import pytest
from django.utils import translation

from survey.interchange import load_definition
from survey.interchange_checks import definition_problems, validate_definition
from tests.conftest import EXAMPLE_DEFINITION


@pytest.fixture(scope="module")
def reference():
    return load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))


def _question(definition, code):
    for section in definition["sections"]:
        for question in section["questions"]:
            if question["code"] == code:
                return question
    raise KeyError(code)


def _duplicate_option(d):
    _question(d, "D1")["options"][1]["code"] = _question(d, "D1")["options"][0]["code"]


def _dangling_show_if(d):
    _question(d, "Q15R")["show_if"] = "Q99 == 1"


def _unknown_option_in_show_if(d):
    _question(d, "Q15R")["show_if"] = "Q15 == 9"


def _score_on_text(d):
    d["scores"][0]["of"] = "Q18"


def _max_choices_above_options(d):
    _question(d, "Q16")["max_choices"] = 50


def _exclusive_on_single(d):
    _question(d, "D1")["options"][0]["exclusive"] = True


def _empty_default_label(d):
    _question(d, "D1")["label"] = {"zh-hans": " ", "en": "Sex"}
    _question(d, "D1")["label"] = ""


def _unknown_banner_segment(d):
    d["analysis"]["banner"].append("segment:nobody")


def _duplicate_question_code(d):
    _question(d, "Q18")["code"] = "D1"


FIRST_QUESTION = "sections[0].questions[0]"
# mutation → (code, path) of the one problem it makes (None: any path)
CATALOGUE = {
    "duplicate option code": (_duplicate_option, "duplicate_code", f"{FIRST_QUESTION}.options"),
    "dangling show_if": (_dangling_show_if, "unknown_reference", None),
    "show_if on a missing option": (_unknown_option_in_show_if, "unknown_reference", None),
    "score on a text question": (_score_on_text, "score_on_text", "scores[0].of"),
    "max_choices above the options": (_max_choices_above_options, "more_than_options", None),
    "exclusive on a single question": (_exclusive_on_single, "exclusive_not_multiple", None),
    "empty label": (_empty_default_label, "empty_label", f"{FIRST_QUESTION}.label"),
    "unknown banner segment": (_unknown_banner_segment, "unknown_reference", None),
    "duplicate question code": (_duplicate_question_code, "duplicate_code", None),
}


@pytest.mark.parametrize("name", CATALOGUE)
def test_each_mistake_has_a_stable_code_a_clean_path_and_its_value(reference, name):
    mutate, code, path = CATALOGUE[name]
    definition = copy.deepcopy(reference)
    mutate(definition)

    (problem,) = definition_problems(definition)

    assert problem.code == code
    assert " (" not in problem.path and problem.path.split(".")[0].split("[")[0] in definition
    if path is not None:
        assert problem.path == path
    as_dict = problem.as_dict()
    assert set(as_dict) == {"code", "path", "message", "value"}
    assert as_dict["path"] == problem.path and as_dict["message"] == problem.message


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_the_message_is_in_the_active_language(reference, name):
    mutate, _code, _path = CATALOGUE[name]
    definition = copy.deepcopy(reference)
    mutate(definition)
    with translation.override("en"):
        (english,) = definition_problems(definition)
    with translation.override("zh-hans"):
        (chinese,) = definition_problems(definition)

    assert english.code == chinese.code and english.path == chinese.path
    assert english.message != chinese.message
    assert any("\u4e00" <= char <= "\u9fff" for char in chinese.message)
    assert not any("\u4e00" <= char <= "\u9fff" for char in english.message)
    # The expression language's own diagnostics are translated too, not only the sentence.
    assert "unknown question" not in chinese.message and "has no option" not in chinese.message


def test_the_text_form_is_the_place_and_the_message(reference):
    definition = copy.deepcopy(reference)
    _duplicate_option(definition)
    with translation.override("en"):
        (problem,) = definition_problems(definition)
        assert validate_definition(definition) == [str(problem)]
    assert str(problem) == f"{problem.place}: {problem.message}"
    assert problem.place.startswith("sections[0].questions[0] (D1)")


def test_a_valid_definition_has_no_problems(reference):
    assert definition_problems(reference) == []


def test_an_expression_diagnostic_reads_whole_in_chinese(reference):
    definition = copy.deepcopy(reference)
    _unknown_option_in_show_if(definition)
    with translation.override("zh-hans"):
        (problem,) = definition_problems(definition)
    assert problem.message == "“Q15 == 9” 位置 7：Q15 没有选项 9"
