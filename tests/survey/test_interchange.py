"""Definition files: parsing (YAML and JSON), validation of questionnaire/v1, and dumping."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.interchange import (
    MAX_VALUES,
    DefinitionError,
    dump_definition,
    load_definition,
    validate_definition,
)
from tests.conftest import EXAMPLE_DEFINITION

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = pytest.mark.usefixtures("english")


def question(definition: dict, code: str) -> dict:
    for section in definition["sections"]:
        for entry in section["questions"]:
            if entry["code"] == code:
                return entry
    raise KeyError(code)


def problems_of(text: str | bytes, filename: str = "") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, filename=filename)
    return caught.value.problems


# --- loading ----------------------------------------------------------------------------------


def test_the_reference_file_loads_and_is_valid_unchanged():
    data = load_definition(EXAMPLE_DEFINITION.read_bytes(), filename="ipb-survey.yaml")
    assert data["slug"] == "ipb-survey"
    assert validate_definition(data) == []


def test_the_full_feature_definition_is_valid(full_definition):
    assert validate_definition(full_definition) == []


def test_json_is_read_by_extension_and_by_sniffing(reference_definition):
    text = json.dumps(reference_definition, ensure_ascii=False)
    assert load_definition(text, filename="ipb.json") == reference_definition
    assert load_definition(text.encode(), filename="") == reference_definition


def test_a_yaml_flow_mapping_that_is_not_json_still_loads():
    assert load_definition("{format: questionnaire/v1, slug: a}") == {
        "format": "questionnaire/v1",
        "slug": "a",
    }


def test_a_yaml_syntax_error_reports_line_and_column():
    text = "format: questionnaire/v1\nslug: [unclosed\nlanguages: [en]\n"
    assert problems_of(text, "d.yaml") == ["line 3, column 10: expected ',' or ']', but got ':'"]


def test_a_tab_indent_reports_where_it_is():
    assert problems_of("format: x\n\tslug: y\n") == [
        "line 2, column 1: found character '\\t' that cannot start any token"
    ]


def test_a_json_syntax_error_reports_line_and_column():
    assert problems_of('{"format": "x",\n "slug": }', "d.json") == [
        "line 2, column 10: Expecting value"
    ]


def test_a_duplicate_yaml_key_is_refused_with_its_line():
    assert problems_of("format: x\nslug: a\nslug: b\n") == [
        "line 3, column 1: duplicate key 'slug'"
    ]


def test_a_duplicate_json_key_is_refused():
    assert problems_of('{"a": 1, "a": 2}', "d.json") == ["file: duplicate key 'a'"]


def test_json_nan_is_refused():
    assert problems_of('{"a": NaN}', "d.json") == [
        "file: NaN is not a number a definition may contain"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "definition: must be a mapping (format: ..., slug: ..., ...), not a list"),
        (
            "hello",
            "definition: must be a mapping (format: ..., slug: ..., ...), not text ('hello')",
        ),
        ("  \n", "file: empty (no definition in it)"),
    ],
)
def test_a_top_level_that_is_not_a_mapping_is_refused(text, expected):
    assert problems_of(text) == [expected]


def test_text_that_is_not_utf8_is_refused():
    assert problems_of(b"format: \xff\xfe") == ["file: not UTF-8 text (invalid byte at offset 8)"]


def test_a_byte_order_mark_is_ignored():
    assert load_definition("\ufeffslug: a".encode()) == {"slug": "a"}


def test_dates_stay_text_because_json_has_none():
    assert load_definition("x-opened: 2024-01-01\n") == {"x-opened": "2024-01-01"}


def test_yes_and_no_are_words_and_only_true_and_false_are_booleans():
    data = load_definition("label: {en: No, zh-hans: 否}\nother: yes\nrequired: false\nx: True\n")
    assert data == {
        "label": {"en": "No", "zh-hans": "否"},
        "other": "yes",
        "required": False,
        "x": True,
    }
    assert load_definition(dump_definition(data, fmt="yaml")) == data
    assert yaml.safe_load(dump_definition(data, fmt="yaml")) == data


def test_an_alias_bomb_is_refused_before_anything_walks_it():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdef", "abcde", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    assert problems_of("\n".join(lines)) == [
        f"file: more than {MAX_VALUES:,} values (aliases expanded)"
    ]


def test_a_recursive_alias_is_refused():
    assert problems_of("a: &a [1, *a]\n") == ["file: a value contains itself (a recursive alias)"]


def test_nesting_too_deep_is_refused_not_crashed():
    assert problems_of("[" * 5000 + "]" * 5000, "x.json") == ["file: nested too deeply"]


def test_aliases_for_a_shared_scale_are_fine(reference_definition):
    text = dump_definition(reference_definition, fmt="yaml")
    text = text.replace("sections:\n", "x-scales:\n  agree: &agree [1, 2]\nsections:\n", 1)
    text += "x-copy: *agree\n"
    data = load_definition(text)
    assert data["x-copy"] == [1, 2]
    assert validate_definition(data) == []


# --- dumping ----------------------------------------------------------------------------------


def test_yaml_dump_keeps_chinese_readable_and_key_order(reference_definition):
    text = dump_definition(reference_definition, fmt="yaml")
    assert "基层党员干部" in text
    assert "\\u" not in text
    assert text.startswith("format: questionnaire/v1\nslug: ipb-survey\n")
    assert "- {code: 1, label: {zh-hans: 男, en: Male}}" in text
    assert load_definition(text, filename="x.yaml") == reference_definition


def test_json_dump_keeps_chinese_readable(reference_definition):
    text = dump_definition(reference_definition, fmt="json")
    assert "基层党员干部" in text
    assert load_definition(text, filename="x.json") == reference_definition


def test_dump_refuses_an_unknown_format(reference_definition):
    with pytest.raises(ValueError, match="unknown definition format 'xml'"):
        dump_definition(reference_definition, fmt="xml")


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_labels = st.one_of(_text, st.fixed_dictionaries({"zh-hans": _text, "en": _text}))
_codes = st.one_of(st.integers(-(10**6), 10**6), _text)


@settings(max_examples=300, deadline=None)
@given(label=_labels, code=_codes, score=st.floats(allow_nan=False, allow_infinity=False))
def test_any_text_survives_a_dump_and_load_in_both_formats(label, code, score):
    data = {"title": label, "options": [{"code": code, "label": label, "score": score}]}
    for fmt in ("yaml", "json"):
        assert load_definition(dump_definition(data, fmt=fmt), filename=f"d.{fmt}") == data


# --- validation: every problem named by its place -----------------------------------------------


def _set(path: Callable[[dict], dict], **values: object) -> Callable[[dict], None]:
    return lambda d: path(d).update(values)


def _pop(path: Callable[[dict], dict], key: str) -> Callable[[dict], None]:
    return lambda d: path(d).pop(key)


def _q(code: str) -> Callable[[dict], dict]:
    return lambda d: question(d, code)


def _option(code: str, index: int, key: str = "options") -> Callable[[dict], dict]:
    return lambda d: question(d, code)[key][index]


def _top(d: dict) -> dict:
    return d


MISTAKES = {
    "missing format": (
        _pop(_top, "format"),
        "format: missing (the first line should be 'format: questionnaire/v1')",
    ),
    "wrong format": (
        _set(_top, format="questionnaire/v2"),
        "format: 'questionnaire/v2' is not supported (expected questionnaire/v1)",
    ),
    "bad slug": (
        _set(_top, slug="IPB Survey"),
        "slug: 'IPB Survey' is not valid (use lowercase letters, digits and -)",
    ),
    "empty languages": (_set(_top, languages=[]), "languages: must not be empty"),
    "languages not a list": (
        _set(_top, languages="zh-hans"),
        "languages: must be a list, not text ('zh-hans')",
    ),
    "duplicate language": (
        _set(_top, languages=["zh-hans", "en", "en"]),
        "languages[2]: duplicate language en",
    ),
    "label a list": (
        _set(_q("D1"), label=["男"]),
        "sections[0].questions[0] (D1).label: must be text or a map of language to text, "
        "not a list",
    ),
    "label in an undeclared language": (
        _set(_q("D1"), label={"fr": "Sexe"}),
        "sections[0].questions[0] (D1).label: language 'fr' is not in languages (zh-hans, en)",
    ),
    "missing label": (_pop(_q("D2"), "label"), "sections[0].questions[1] (D2).label: missing"),
    "unknown question type": (
        _set(_q("D1"), type="dropdown"),
        "sections[0].questions[0] (D1).type: unknown type 'dropdown' "
        "(single, multiple, matrix, number, number_grid, text)",
    ),
    "duplicate question code across sections": (
        _set(_q("Q18"), code="D1"),
        "sections[3].questions[7].code: duplicate code D1 (already used by "
        "sections[0].questions[0])",
    ),
    "bad question code": (
        _set(_q("Q18"), code="18Q"),
        "sections[3].questions[7].code: '18Q' is not a valid question code "
        "(a letter, then letters, digits or _)",
    ),
    "duplicate option code": (
        _set(_option("Q4", 3), code=2),
        "sections[1].questions[2] (Q4).options: duplicate code 2",
    ),
    "integer and text option codes that are the same code": (
        _set(_option("Q4", 3), code="2"),
        "sections[1].questions[2] (Q4).options: duplicate code 2",
    ),
    "float option code": (
        _set(_option("D1", 0), code=1.5),
        "sections[0].questions[0] (D1).options[0].code: must be an integer or text, "
        "not a number (1.5)",
    ),
    "bool option code": (
        _set(_option("D1", 0), code=True),
        "sections[0].questions[0] (D1).options[0].code: must be an integer or text, "
        "not true/false (true)",
    ),
    "score not a number": (
        _set(_option("Q3", 0), score="high"),
        "sections[1].questions[1] (Q3).options[0].score: must be a number, not text ('high')",
    ),
    "score with too many decimals": (
        _set(_option("Q3", 0), score=0.12345),
        "sections[1].questions[1] (Q3).options[0].score: 0.12345 has more than 4 digits "
        "after the decimal point",
    ),
    "score on a question without options": (
        _set(_q("Q2"), score=3),
        "sections[1].questions[0] (Q2).score: belongs on an option, not on a number_grid question",
    ),
    "exclusive outside multiple": (
        _set(_option("D1", 0), exclusive=True),
        "sections[0].questions[0] (D1).options[0].exclusive: only options of a multiple can be "
        "exclusive",
    ),
    "other on a matrix scale": (
        _set(_option("Q5", 0, "scale"), other=True),
        "sections[2].questions[0] (Q5).scale[0].other: a matrix scale point cannot be 'other'",
    ),
    "two other options": (
        _set(_option("D6", 0), other=True),
        "sections[0].questions[5] (D6).options: only one option can be 'other' (found 1, 8)",
    ),
    "other not a boolean": (
        _set(_option("D6", 7), other="yes"),
        "sections[0].questions[5] (D6).options[7].other: must be true or false, not text ('yes')",
    ),
    "min_choices above max_choices": (
        _set(_q("Q8"), min_choices=3, max_choices=2),
        "sections[2].questions[4] (Q8).min_choices: 3 is more than max_choices (2)",
    ),
    "max_choices above the number of options": (
        _set(_q("Q16"), max_choices=9),
        "sections[3].questions[6] (Q16).max_choices: 9 is more than the 5 options",
    ),
    "negative min_choices": (
        _set(_q("Q16"), min_choices=-1),
        "sections[3].questions[6] (Q16).min_choices: must be at least 0, not -1",
    ),
    "max_choices on a single question": (
        _set(_q("D1"), max_choices=1),
        "sections[0].questions[0] (D1).max_choices: not allowed on a single question "
        "(only on multiple)",
    ),
    "number min above max": (
        _set(_q("Q2"), min=100),
        "sections[1].questions[0] (Q2).min: 100 is more than max (99)",
    ),
    "non-numeric min": (
        _set(_q("Q2"), min="zero"),
        "sections[1].questions[0] (Q2).min: must be a number, not text ('zero')",
    ),
    "fractional bound while integer": (
        _set(_q("Q2"), min=0.5),
        "sections[1].questions[0] (Q2).min: 0.5 is not a whole number (set integer: false to "
        "allow)",
    ),
    "integer not a boolean": (
        _set(_q("Q2"), integer="no"),
        "sections[1].questions[0] (Q2).integer: must be true or false, not text ('no')",
    ),
    "integer on a text question": (
        _set(_q("Q18"), integer=False),
        "sections[3].questions[7] (Q18).integer: not allowed on a text question "
        "(only on number and number_grid)",
    ),
    "max_length zero": (
        _set(_q("Q18"), max_length=0),
        "sections[3].questions[7] (Q18).max_length: must be a positive whole number, not 0",
    ),
    "max_length not a number": (
        _set(_q("Q18"), max_length="long"),
        "sections[3].questions[7] (Q18).max_length: must be a whole number, not text ('long')",
    ),
    "matrix without items": (
        _pop(_q("Q5"), "items"),
        "sections[2].questions[0] (Q5).items: missing",
    ),
    "matrix without scale": (
        _pop(_q("Q5"), "scale"),
        "sections[2].questions[0] (Q5).scale: missing",
    ),
    "number grid without items": (
        _pop(_q("Q2"), "items"),
        "sections[1].questions[0] (Q2).items: missing",
    ),
    "duplicate item code": (
        _set(lambda d: question(d, "Q5")["items"][1], code="a"),
        "sections[2].questions[0] (Q5).items: duplicate code a",
    ),
    "item code an expression cannot read": (
        _set(lambda d: question(d, "Q5")["items"][1], code="b-2"),
        "sections[2].questions[0] (Q5).items[1].code: 'b-2' is not a valid item code "
        "(a letter, then letters, digits or _; or digits only)",
    ),
    "show_if syntax error": (
        _set(_q("Q15R"), show_if="Q15 = 1"),
        "sections[3].questions[2] (Q15R).show_if: \"Q15 = 1\" at 4: unexpected character '='; "
        "did you mean '=='?",
    ),
    "show_if naming an unknown code": (
        _set(_q("Q15R"), show_if="Q99 == 1"),
        'sections[3].questions[2] (Q15R).show_if: "Q99 == 1" at 0: unknown question Q99',
    ),
    "show_if reading an item of a single question": (
        _set(_q("Q15R"), show_if="Q3.a == 1"),
        'sections[3].questions[2] (Q15R).show_if: "Q3.a == 1" at 0: Q3 is a single question '
        "and has no items",
    ),
    "show_if referring to the question itself": (
        _set(_q("Q15R"), show_if='Q15R == "x"'),
        "sections[3].questions[2] (Q15R).show_if: refers to the question itself (Q15R)",
    ),
    "show_if referring to a later question": (
        _set(_q("Q15R"), show_if="Q16 has 1"),
        "sections[3].questions[2] (Q15R).show_if: refers to Q16, which comes later (a question "
        "can only depend on questions before it)",
    ),
    "empty show_if": (
        _set(_q("Q15R"), show_if=" "),
        "sections[3].questions[2] (Q15R).show_if: must be an expression, not text (' ')",
    ),
    "attention_check on a multiple question": (
        _set(_q("Q8"), attention_check={"expect": 1}),
        "sections[2].questions[4] (Q8).attention_check: not allowed on a multiple question "
        "(only on single)",
    ),
    "attention_check expecting a missing option": (
        _set(_q("Q17"), attention_check={"expect": 9}),
        "sections[2].questions[1] (Q17).attention_check.expect: there is no option 9",
    ),
    "score of an unknown question": (
        _set(lambda d: d["scores"][0], of="Q99"),
        "scores[0] (usage_effect).of: unknown question 'Q99'",
    ),
    "score of a question type that cannot be scored": (
        _set(lambda d: d["scores"][0], of="Q2"),
        "scores[0] (usage_effect).of: Q2 is a number_grid question; only single and matrix "
        "questions have scores",
    ),
    "score of a single question without scored options": (
        _set(lambda d: d["scores"][0], of="D1"),
        "scores[0] (usage_effect).of: D1 has no scored options (give its options a score)",
    ),
    "duplicate score code": (
        _set(lambda d: d["scores"][1], code="usage_effect"),
        "scores[1].code: duplicate code usage_effect (already used by scores[0])",
    ),
    "duplicate segment code": (
        _set(lambda d: d["segments"][3], code="active"),
        "segments[3].code: duplicate code active (already used by segments[0])",
    ),
    "segment rule naming a missing option": (
        _set(lambda d: d["segments"][2], rule="Q14 in [3, 9]"),
        'segments[2] (trend_sceptic).rule: "Q14 in [3, 9]" at 11: Q14 has no option 9',
    ),
    "segment rule syntax error": (
        _set(lambda d: d["segments"][2], rule="Q14 in [3,"),
        'segments[2] (trend_sceptic).rule: "Q14 in [3," at 10: expected a number or a string '
        "in the list, found end of expression",
    ),
    "banner naming an unknown segment": (
        lambda d: d["analysis"]["banner"].append("segment:nope"),
        "analysis.banner[9]: unknown segment 'nope'",
    ),
    "banner naming a multiple question": (
        lambda d: d["analysis"]["banner"].append("Q8"),
        "analysis.banner[9]: Q8 is a multiple question; a banner breaks down by single questions",
    ),
    "banner naming an unknown code": (
        lambda d: d["analysis"]["banner"].append("D9"),
        "analysis.banner[9]: unknown question 'D9'",
    ),
    "significance outside (0, 1)": (
        _set(lambda d: d["analysis"], significance=1.5),
        "analysis.significance: must be a number between 0 and 1, not a number (1.5)",
    ),
    "unknown multiple-comparison correction": (
        _set(lambda d: d["analysis"], correction="sidak"),
        "analysis.correction: 'sidak' is not holm or bonferroni or none",
    ),
    "unknown validity rule": (
        _set(lambda d: d["validity"], sleepy={"action": "flag"}),
        "validity.sleepy: unknown rule (expected speeder, attention, duplicate, straightlining)",
    ),
    "unknown validity action": (
        _set(lambda d: d["validity"]["attention"], action="delete"),
        "validity.attention.action: 'delete' is not invalidate or flag",
    ),
    "speeder fraction outside (0, 1)": (
        _set(lambda d: d["validity"]["speeder"], below_fraction_of_median=1.2),
        "validity.speeder.below_fraction_of_median: must be a number between 0 and 1, "
        "not a number (1.2)",
    ),
    "straightlining min_items below 2": (
        _set(lambda d: d["validity"]["straightlining"], min_items=1),
        "validity.straightlining.min_items: must be at least 2, not 1",
    ),
    "straightlining without any checked matrix": (
        lambda d: [question(d, code).pop("straightlining_check") for code in ("Q5", "Q7")],
        "validity.straightlining: no matrix has straightlining_check: true, so this rule can "
        "never apply",
    ),
    "straightlining needing more items than any checked matrix has": (
        _set(lambda d: d["validity"]["straightlining"], min_items=8),
        "validity.straightlining.min_items: no matrix with straightlining_check has 8 items, "
        "so this rule can never apply",
    ),
    "unknown one_response_per": (
        _set(lambda d: d["settings"], one_response_per="device"),
        "settings.one_response_per: 'device' is not respondent or none",
    ),
    "duplicate rule while one_response_per is none": (
        _set(lambda d: d["settings"], one_response_per="none"),
        "validity.duplicate: needs settings.one_response_per: respondent (with none it can "
        "never apply)",
    ),
    "typo in an option key": (
        _set(_option("D1", 0), scroe=1),
        "sections[0].questions[0] (D1).options[0]: unknown key 'scroe' "
        "(expected code, label, score, other, exclusive, hidden)",
    ),
    "section without questions": (
        lambda d: d["sections"].append({"code": "E", "questions": []}),
        "sections[4].questions: must not be empty",
    ),
}


@pytest.mark.parametrize(("mistake", "expected"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_is_reported_once_at_its_place(reference_definition, mistake, expected):
    mistake(reference_definition)
    assert validate_definition(reference_definition) == [expected]


def test_every_problem_is_listed_not_only_the_first(reference_definition):
    reference_definition["slug"] = "Bad Slug"
    question(reference_definition, "Q4")["options"][3]["code"] = 2
    reference_definition["analysis"]["banner"].append("segment:nope")
    assert validate_definition(reference_definition) == [
        "slug: 'Bad Slug' is not valid (use lowercase letters, digits and -)",
        "sections[1].questions[2] (Q4).options: duplicate code 2",
        "analysis.banner[9]: unknown segment 'nope'",
    ]


def test_a_broken_question_is_not_reported_again_by_what_refers_to_it(reference_definition):
    question(reference_definition, "D1")["type"] = "dropdown"
    question(reference_definition, "Q2").pop("items")
    assert validate_definition(reference_definition) == [
        "sections[0].questions[0] (D1).type: unknown type 'dropdown' "
        "(single, multiple, matrix, number, number_grid, text)",
        "sections[1].questions[0] (Q2).items: missing",
    ]


def test_missing_sections_are_one_problem_not_one_per_reference(reference_definition):
    del reference_definition["sections"]
    assert validate_definition(reference_definition) == [
        "sections: missing (a list of {code, title, questions})"
    ]


def test_a_non_mapping_definition_is_one_problem():
    assert validate_definition(["format"]) == [
        "definition: must be a mapping (format: ..., slug: ..., ...), not a list"
    ]


def test_unknown_keys_are_kept_on_the_questionnaire_and_its_questions(full_definition):
    full_definition["x-new"] = {"any": ["thing", 1, None]}
    question(full_definition, "gender")["x-hint"] = "tap one"
    assert validate_definition(full_definition) == []


def test_an_unknown_key_must_still_be_storable_as_json(full_definition):
    full_definition["x-weird"] = {1: "a"}
    question(full_definition, "gender")["x-inf"] = float("inf")
    assert validate_definition(full_definition) == [
        "sections[0].questions[0] (gender).x-inf: infinite or NaN numbers cannot be stored",
        "x-weird: mapping keys must be text",
    ]


def test_several_exclusive_options_are_allowed(full_definition):
    options = question(full_definition, "channels")["options"]
    assert [o["code"] for o in options if o.get("exclusive")] == [8, 9]
    assert validate_definition(full_definition) == []


def test_show_if_may_read_a_question_of_an_earlier_section(full_definition):
    question(full_definition, "more")["show_if"] = "gender == 1 and counts.two > 3"
    assert validate_definition(full_definition) == []


def test_labels_may_be_plain_text_or_give_only_some_languages(full_definition):
    question(full_definition, "gender")["label"] = {"en": "Gender"}
    question(full_definition, "check")["label"] = "Pick b"
    assert validate_definition(full_definition) == []
