"""Spreadsheet export and import of questions and options (django-import-export resources)."""

from __future__ import annotations

import copy
import csv
import io
import uuid
from decimal import Decimal

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from survey.interchange import load_definition
from survey.models import Option, Question, Questionnaire, Response
from survey.resources import OptionResource, QuestionResource
from survey.services.questionnaires import questionnaire_import
from tests.conftest import EXAMPLE_DEFINITION
from wenji.cells import FORMULA_TRIGGERS, escape_formula, unescape_formula

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


FORMULA_LABELS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"]


@pytest.fixture
def definition() -> dict:
    return load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))


@pytest.fixture
def draft(definition: dict) -> Questionnaire:
    return questionnaire_import(definition=definition)


@pytest.fixture
def locked(draft: Questionnaire) -> Questionnaire:
    Response.objects.create(
        questionnaire=draft,
        submission_id=uuid.uuid4(),
        answers_digest="0" * 64,
        channel=Response.Channel.API,
        definition_version=1,
    )
    return draft


@pytest.fixture
def formulas(definition: dict) -> Questionnaire:
    """The reference questionnaire with D6's options labelled like spreadsheet formulas."""
    changed = copy.deepcopy(definition)
    d6 = changed["sections"][0]["questions"][5]
    assert d6["code"] == "D6"
    for option, text in zip(d6["options"], FORMULA_LABELS, strict=False):
        option["label"] = {"zh-hans": text, "en": "safe"}
    return questionnaire_import(definition=changed)


def option_rows(questionnaire: Questionnaire, question: str) -> list[dict]:
    options = Option.objects.filter(question__questionnaire=questionnaire, question__code=question)
    return OptionResource().export(queryset=options.order_by("position")).dict


def dataset(rows: list[dict]) -> tablib.Dataset:
    headers = list(rows[0])
    return tablib.Dataset(*[[row[h] for h in headers] for row in rows], headers=headers)


def row_errors(result) -> dict[int, dict[str, list[str]]]:
    return {row.number: row.error_dict for row in result.invalid_rows}


# --- formula escaping -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMULA_LABELS)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["Male", "男", "", "1", "a=b", "'quoted'", "'", " =x"])
def test_other_text_is_exported_as_it_is(text: str) -> None:
    assert escape_formula(text) == text


@given(st.text())
def test_unescaping_gives_back_exactly_what_was_escaped(text: str) -> None:
    assert unescape_formula(escape_formula(text)) == text
    assert escape_formula(text)[:1] not in FORMULA_TRIGGERS


def test_option_export_escapes_every_formula_cell(formulas: Questionnaire) -> None:
    rows = option_rows(formulas, "D6")
    assert [row["label_zh_hans"] for row in rows[:6]] == ["'" + t for t in FORMULA_LABELS]
    assert {row["label_en"] for row in rows[:6]} == {"safe"}
    assert rows[6]["label_zh_hans"] == "社会组织"


def test_question_export_escapes_formula_labels(definition: dict) -> None:
    changed = copy.deepcopy(definition)
    changed["sections"][0]["questions"][0]["label"] = {"zh-hans": "=HYPERLINK(1)", "en": "-x"}
    questionnaire = questionnaire_import(definition=changed)
    rows = QuestionResource().export(queryset=questionnaire.questions.all()).dict
    d1 = next(row for row in rows if row["question"] == "D1")
    assert (d1["label_zh_hans"], d1["label_en"]) == ("'=HYPERLINK(1)", "'-x")


def test_a_negative_score_stays_a_number(draft: Questionnaire) -> None:
    Option.objects.filter(question__questionnaire=draft, question__code="Q3", code="5").update(
        score=Decimal("-1.5")
    )
    rows = option_rows(draft, "Q3")
    assert [row["score"] for row in rows] == [5, 4, 3, 2, Decimal("-1.5")]


def test_exported_formula_labels_import_back_unchanged(formulas: Questionnaire) -> None:
    before = list(Option.objects.filter(question__code="D6").values_list("label", flat=True))
    result = OptionResource().import_data(dataset(option_rows(formulas, "D6")))
    assert not result.has_errors() and not result.has_validation_errors()
    after = list(Option.objects.filter(question__code="D6").values_list("label", flat=True))
    # Cells are trimmed on import, as the admin's label boxes are: only the tab and the
    # carriage return at the start of those two labels go.
    assert after == [{k: v.strip() for k, v in label.items()} for label in before]
    assert [r.import_type for r in result.rows] == ["skip"] * 4 + ["update"] * 2 + ["skip"] * 2
    formulas.refresh_from_db()
    assert formulas.definition_version == 1


# --- export columns -------------------------------------------------------------------------------


def test_question_export_has_codes_and_one_label_column_per_language(draft: Questionnaire) -> None:
    data = QuestionResource().export(queryset=draft.questions.all())
    assert data.headers == [
        "questionnaire",
        "section",
        "question",
        "type",
        "required",
        "label_zh_hans",
        "label_en",
    ]
    q15r = next(row for row in data.dict if row["question"] == "Q15R")
    assert q15r == {
        "questionnaire": "ipb-survey",
        "section": "D",
        "question": "Q15R",
        "type": "text",
        "required": "0",
        "label_zh_hans": "请简要说明您认同的原因（选填）",
        "label_en": "Briefly, why do you agree? (optional)",
    }


def test_option_export_has_codes_labels_and_score(draft: Questionnaire) -> None:
    data = OptionResource().export(queryset=Option.objects.filter(question__code="Q3"))
    assert data.headers == [
        "questionnaire",
        "question",
        "option",
        "label_zh_hans",
        "label_en",
        "score",
    ]
    assert data.dict[0] == {
        "questionnaire": "ipb-survey",
        "question": "Q3",
        "option": "1",
        "label_zh_hans": "积极发表意见，与所有人交流",
        "label_en": "I post actively and talk with everyone",
        "score": 5,
    }


def test_a_plain_string_label_goes_to_the_default_language_column(definition: dict) -> None:
    changed = copy.deepcopy(definition)
    changed["sections"][0]["questions"][0]["label"] = "性别"
    questionnaire = questionnaire_import(definition=changed)
    rows = QuestionResource().export(queryset=questionnaire.questions.filter(code="D1")).dict
    assert (rows[0]["label_zh_hans"], rows[0]["label_en"]) == ("性别", "")


def test_the_export_reads_a_fixed_number_of_queries(
    draft: Questionnaire, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(3):
        assert len(OptionResource().export(queryset=Option.objects.all())) > 100
    with django_assert_max_num_queries(3):
        assert len(QuestionResource().export(queryset=Question.objects.all())) == 25


# --- import: labels and scores --------------------------------------------------------------------


def test_import_updates_labels_and_scores_and_raises_the_version(draft: Questionnaire) -> None:
    rows = option_rows(draft, "Q3")
    rows[0].update(label_en="Very active", score="10")
    rows[1].update(label_zh_hans="")
    result = OptionResource().import_data(dataset(rows))
    assert not result.has_errors() and not result.has_validation_errors()
    assert [r.import_type for r in result.rows] == ["update", "update", "skip", "skip", "skip"]
    first, second = Option.objects.filter(question__code="Q3").order_by("position")[:2]
    assert first.label["en"] == "Very active" and first.score == 10
    assert second.label == {"en": "I post little and talk only with people I know"}
    draft.refresh_from_db()
    assert draft.definition_version == 2


def test_a_label_only_import_keeps_the_version(draft: Questionnaire) -> None:
    rows = QuestionResource().export(queryset=draft.questions.filter(code="D1")).dict
    rows[0]["label_en"] = "Sex"
    result = QuestionResource().import_data(dataset(rows))
    assert not result.has_validation_errors()
    assert Question.objects.get(code="D1").label == {"zh-hans": "您的性别", "en": "Sex"}
    draft.refresh_from_db()
    assert draft.definition_version == 1


def test_a_file_with_only_some_columns_changes_only_those(draft: Questionnaire) -> None:
    data = tablib.Dataset(
        ["ipb-survey", "Q3", "2", "7.5"], headers=["questionnaire", "question", "option", "score"]
    )
    result = OptionResource().import_data(data)
    assert not result.has_validation_errors()
    option = Option.objects.get(question__code="Q3", code="2")
    assert option.score == Decimal("7.5")
    assert option.label["en"] == "I post little and talk only with people I know"


def test_a_dry_run_changes_nothing(draft: Questionnaire) -> None:
    rows = option_rows(draft, "Q3")
    rows[0]["score"] = "10"
    OptionResource().import_data(dataset(rows), dry_run=True)
    assert Option.objects.get(question__code="Q3", code="1").score == 5
    draft.refresh_from_db()
    assert draft.definition_version == 1


def test_bad_cells_are_row_errors_naming_the_column(draft: Questionnaire) -> None:
    rows = option_rows(draft, "Q3")[:3]
    rows[0]["score"] = "lots"
    rows[1]["questionnaire"] = "nope"
    rows[2].update(label_zh_hans="", label_en="")
    result = OptionResource().import_data(dataset(rows))
    errors = row_errors(result)
    assert errors[1] == {"score": ["“lots” is not a number."]}
    assert errors[2] == {"questionnaire": ["No questionnaire has the slug “nope”."]}
    assert errors[3] == {"label_zh_hans": ["Give the label in at least one language."]}


def test_required_must_be_yes_or_no(draft: Questionnaire) -> None:
    rows = QuestionResource().export(queryset=draft.questions.filter(code__in=["D1", "D2"])).dict
    rows[0]["required"] = "maybe"
    rows[1]["required"] = "否"
    errors = row_errors(QuestionResource().import_data(dataset(rows)))
    assert errors == {1: {"required": ["“maybe” is not yes or no (use 1 or 0)."]}}
    assert Question.objects.get(code="D2").required is False


# --- import: structure and the lock ---------------------------------------------------------------


def test_on_a_locked_questionnaire_a_new_option_is_refused_and_label_edits_go_through(
    locked: Questionnaire,
) -> None:
    rows = option_rows(locked, "Q3")
    rows[0]["label_en"] = "Active"
    rows.append({**rows[4], "option": "6", "label_en": "New", "score": "0"})
    result = OptionResource().import_data(dataset(rows))
    errors = row_errors(result)
    assert list(errors) == [6]
    [message] = errors[6]["option"]
    assert message.startswith(
        "Q3 has no option 6, and none can be added: ipb-survey has 1 response"
    )
    assert not Option.objects.filter(question__code="Q3", code="6").exists()
    assert Option.objects.get(question__code="Q3", code="1").label["en"] == "Active"


def test_on_a_locked_questionnaire_recoding_or_moving_a_question_is_refused(
    locked: Questionnaire,
) -> None:
    rows = (
        QuestionResource()
        .export(queryset=locked.questions.filter(code__in=["D1", "D2", "D3"]))
        .dict
    )
    rows[0]["question"] = "D1X"  # a recode is a new code
    rows[1]["type"] = "multiple"
    rows[2]["section"] = "B"
    errors = row_errors(QuestionResource().import_data(dataset(rows)))
    assert errors[1]["question"][0].startswith(
        "ipb-survey has no question D1X, and none can be added"
    )
    assert errors[2]["type"][0].startswith("D2 cannot change its type to multiple")
    assert errors[3]["section"][0].startswith("D3 cannot move to section B")
    assert list(
        Question.objects.filter(code__startswith="D").values_list("code", "type", "section__code")
    ) == [
        ("D1", "single", "A"),
        ("D2", "single", "A"),
        ("D3", "single", "A"),
        ("D4", "single", "A"),
        ("D5", "single", "A"),
        ("D6", "single", "A"),
    ]


def test_without_responses_a_row_with_a_new_code_adds_it(draft: Questionnaire) -> None:
    rows = option_rows(draft, "Q3")
    rows.append(
        {**rows[4], "option": "6", "label_zh_hans": "从不使用", "label_en": "Never", "score": "0"}
    )
    result = OptionResource().import_data(dataset(rows))
    assert not result.has_validation_errors()
    option = Option.objects.get(question__code="Q3", code="6")
    assert (option.position, option.score, option.label["en"]) == (5, 0, "Never")
    draft.refresh_from_db()
    assert draft.definition_version == 2
    data = tablib.Dataset(
        ["ipb-survey", "D", "Q19", "text", "0", "还有吗", "Anything else?"],
        headers=QuestionResource().export(queryset=Question.objects.none()).headers,
    )
    assert not QuestionResource().import_data(data).has_validation_errors()
    q19 = Question.objects.get(code="Q19")
    assert (q19.section.code, q19.type, q19.required, q19.position) == ("D", "text", False, 8)


def test_without_responses_a_type_change_is_checked_by_the_rulebook(
    draft: Questionnaire,
) -> None:
    rows = QuestionResource().export(queryset=draft.questions.filter(code__in=["Q15", "Q18"])).dict
    rows[0]["type"] = "text"  # Q15R and a segment compare Q15 with an option
    rows[1]["type"] = "number"
    errors = row_errors(QuestionResource().import_data(dataset(rows)))
    # The rulebook's verdict on the question as it would be: the spreadsheet changes the type
    # but cannot remove the options (or Q18's length limit) the new type does not take.
    assert errors == {
        1: {"type": ["options: not allowed on a text question (only on single and multiple)"]},
        2: {"type": ["max_length: not allowed on a number question (only on text)"]},
    }
    assert Question.objects.get(code="Q18").type == "text"


def test_a_new_question_needs_a_known_section_and_type(draft: Questionnaire) -> None:
    data = tablib.Dataset(
        ["ipb-survey", "Z", "Q19", "dropdown", "1", "问", "Q"],
        headers=QuestionResource().export(queryset=Question.objects.none()).headers,
    )
    errors = row_errors(QuestionResource().import_data(data))
    assert errors[1] == {"section": ["ipb-survey has no section “Z”."]}
    data[0] = ["ipb-survey", "A", "Q19", "dropdown", "1", "问", "Q"]
    errors = row_errors(QuestionResource().import_data(data))
    assert errors[1]["type"][0].startswith("“dropdown” is not a question type")


def test_options_cannot_be_added_to_a_question_without_options(draft: Questionnaire) -> None:
    data = tablib.Dataset(
        ["ipb-survey", "Q18", "1", "x"], headers=["questionnaire", "question", "option", "label_en"]
    )
    errors = row_errors(OptionResource().import_data(data))
    assert errors[1] == {"option": ["Q18 is a text question and has no options."]}


# --- through the admin ----------------------------------------------------------------------------


def _format_index(form, name: str) -> str:
    return next(str(value) for value, label in form.fields["format"].choices if label == name)


def test_admin_option_export_is_a_csv_with_formulas_escaped(
    admin_client: Client, formulas: Questionnaire
) -> None:
    url = (
        reverse("admin:survey_option_export") + f"?question__questionnaire__id__exact={formulas.pk}"
    )
    form = admin_client.get(url).context["form"]
    data = {"format": _format_index(form, "csv"), "resource": "0"}
    data.update({name: "on" for name in form.fields if name.startswith("optionresource_")})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    d6 = [row for row in rows if row["question"] == "D6"]
    assert [row["label_zh_hans"] for row in d6[:6]] == ["'" + text for text in FORMULA_LABELS]


def test_admin_option_import_updates_scores_after_the_preview(
    admin_client: Client, draft: Questionnaire
) -> None:
    rows = option_rows(draft, "Q4")
    rows[0]["score"] = "9"
    content = dataset(rows).export("csv").encode()
    url = reverse("admin:survey_option_import")
    form = admin_client.get(url).context["form"]
    preview = admin_client.post(
        url,
        {
            "resource": "0",
            "format": _format_index(form, "csv"),
            "import_file": SimpleUploadedFile("options.csv", content),
        },
    )
    assert preview.status_code == 200
    assert Option.objects.get(question__code="Q4", code="1").score == 5  # a preview only
    confirm = preview.context["confirm_form"]
    response = admin_client.post(
        reverse("admin:survey_option_process_import"),
        {name: confirm[name].value() for name in confirm.fields},
    )
    assert response.status_code == 302
    assert Option.objects.get(question__code="Q4", code="1").score == 9
    draft.refresh_from_db()
    assert draft.definition_version == 2


def test_admin_import_of_a_refused_row_shows_the_error_and_offers_no_confirm(
    admin_client: Client, locked: Questionnaire
) -> None:
    rows = option_rows(locked, "Q4")
    rows.append({**rows[0], "option": "9"})
    url = reverse("admin:survey_option_import")
    form = admin_client.get(url).context["form"]
    response = admin_client.post(
        url,
        {
            "resource": "0",
            "format": _format_index(form, "csv"),
            "import_file": SimpleUploadedFile("options.csv", dataset(rows).export("csv").encode()),
        },
    )
    assert "confirm_form" not in response.context
    assert "Q4 has no option 9, and none can be added" in response.content.decode()
