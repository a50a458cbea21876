"""XLSForm in and out (survey.xlsform): our own round trip is lossless, pyxform converts what we
write, foreign forms map onto questionnaire/v1, and what cannot map is refused by row."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from pyxform.xls2xform import convert

from survey.interchange import (
    DefinitionError,
    read_definition_file,
    validate_definition,
    write_definition_file,
)
from survey.models import Question, Questionnaire
from survey.services.questionnaires import questionnaire_export, questionnaire_import
from survey.xlsform import xlsform_read, xlsform_write
from tests.survey.strategies import documents

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = pytest.mark.usefixtures("english")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(survey: list[list], choices: list[list] | None = None, settings_rows=None) -> bytes:
    """An .xlsx built the way a person builds one in Excel: a header row, then rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    if choices:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    if settings_rows:
        sheet = book.create_sheet("settings")
        for row in settings_rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pyxform_converts(data: bytes) -> str:
    warnings: list[str] = []
    result = convert(xlsform=data, warnings=warnings, file_type=".xlsx")
    return result.xform


# --- our own round trip -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_reference_questionnaire_round_trips_through_xlsform(ipb_draft):
    exported = questionnaire_export(questionnaire=ipb_draft)
    data = xlsform_write(exported)
    assert xlsform_read(data).document == exported
    # …and what we write is an XLSForm that pyxform turns into an XForm, in both languages.
    xform = pyxform_converts(data)
    assert 'lang="Chinese (zh)"' in xform and 'lang="English (en)"' in xform
    assert "您的性别" in xform and "<h:title>基层党员干部对" in xform


def test_every_feature_round_trips(full_definition):
    data = xlsform_write(full_definition)
    assert xlsform_read(data).document == full_definition
    pyxform_converts(data)


def test_what_other_tools_read_is_native_xlsform(full_definition):
    book = openpyxl.load_workbook(io.BytesIO(xlsform_write(full_definition)))
    rows = list(book["survey"].iter_rows(values_only=True))
    header = rows[0]
    by_name = {row[header.index("name")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_name["gender"]["type"] == "select_one list_gender"
    assert by_name["channels"]["type"] == "select_multiple list_channels"
    assert by_name["channels"]["constraint"] == "count-selected(.) >= 1 and count-selected(.) <= 2"
    assert by_name["rating"]["appearance"] == "table-list"
    assert by_name["rating_a"]["type"] == "select_one list_rating"
    assert by_name["hours"]["type"] == "decimal"
    assert by_name["hours"]["constraint"] == ". >= -5.5 and . <= 10.25"
    # show_if as XPath for other tools, and exactly as written for us.
    assert by_name["hours"]["relevant"] == (
        "(${gender} = '1' or ${gender} = '2') and ${rating_a} <= 2"
    )
    assert by_name["hours"]["wenji_show_if"] == "gender in [1, 2] and rating.a <= 2"
    assert by_name["why"]["relevant"] == (
        "selected(${channels}, '3') or ${counts_1} > 5 or ${check} = 'a'"
    )
    assert by_name["why"]["constraint"] == "string-length(.) <= 300"
    # The "please specify" box other tools need, tagged so that we skip it on the way back.
    assert by_name["gender_other"]["relevant"] == "selected(${gender}, 'x')"
    assert by_name["gender_other"]["wenji_type"] == "other_text"
    choices = list(book["choices"].iter_rows(values_only=True))
    head = choices[0]
    male = next(dict(zip(head, r, strict=True)) for r in choices if r[:2] == ("list_gender", "1"))
    assert male["label"] == "男"  # a plain label is the same in every language
    assert male["wenji_score"] == 2


def test_export_and_import_commands_speak_xlsform(tmp_path, ipb_draft):
    target = tmp_path / "ipb.xlsx"
    out = io.StringIO()
    call_command("export_questionnaire", "ipb-survey", "-o", str(target), stdout=out)
    assert out.getvalue() == f"Wrote ipb-survey to {target} (xlsform)\n"
    exported = questionnaire_export(questionnaire=ipb_draft)
    ipb_draft.delete()
    out = io.StringIO()
    call_command("import_questionnaire", str(target), stdout=out)
    assert out.getvalue().startswith("Imported ipb-survey: 4 sections, 25 questions")
    assert questionnaire_export(questionnaire=Questionnaire.objects.get()) == exported


@pytest.mark.django_db
def test_export_command_refuses_a_workbook_on_stdout(ipb_draft):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=r"give a file with -o FILE\.xlsx"):
        call_command("export_questionnaire", "ipb-survey", "--format", "xlsform")


@pytest.mark.django_db
def test_the_admin_downloads_and_imports_xlsform(admin_client, ipb_draft):
    url = reverse("admin:survey_questionnaire_definition", args=[ipb_draft.pk, "xlsx"])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert 'filename="ipb-survey.xlsx"' in response["Content-Disposition"]
    data = b"".join(response.streaming_content) if response.streaming else response.content
    exported = questionnaire_export(questionnaire=ipb_draft)
    assert xlsform_read(data).document == exported

    ipb_draft.delete()
    upload = io.BytesIO(data)
    upload.name = "from-kobo.xlsx"
    response = admin_client.post(
        reverse("admin:survey_questionnaire_import_definition"), {"file": upload}, follow=True
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "ipb-survey was imported from from-kobo.xlsx."
    ]
    assert questionnaire_export(questionnaire=Questionnaire.objects.get()) == exported


@pytest.mark.django_db
def test_the_admin_shows_each_refused_row_beside_the_file_field(admin_client):
    data = workbook(
        [["type", "name", "label"], ["geopoint", "where", "Where are you?"]],
        settings_rows=[["form_id"], ["geo"]],
    )
    upload = io.BytesIO(data)
    upload.name = "geo.xlsx"
    response = admin_client.post(
        reverse("admin:survey_questionnaire_import_definition"), {"file": upload}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["file"] == [
        "row 2 (where): the question type geopoint has no equivalent in Wenji"
    ]
    assert not Questionnaire.objects.exists()


# --- foreign forms ------------------------------------------------------------------------------

KOBO_SURVEY = [
    [
        "type",
        "name",
        "label::Chinese (zh)",
        "label::English (en)",
        "hint::English (en)",
        "required",
        "relevant",
        "constraint",
        "appearance",
    ],
    ["start", "start", None, None, None, None, None, None, None],
    ["begin_group", "A", "基本情况", "About you", None, None, None, None, "field-list"],
    ["note", "welcome", "欢迎", "Welcome", None, None, None, None, None],
    ["select_one sex", "D1", "性别", "Gender", None, "yes", None, None, None],
    [
        "integer",
        "age",
        "年龄",
        "Age",
        "In years",
        "yes",
        "${D1} = '1'",
        ". >= 0 and . <= 120",
        None,
    ],
    [
        "select_multiple fruit or_other",
        "F",
        "水果",
        "Fruit",
        None,
        None,
        "selected(${D1}, '2') and not(${age} < 18)",
        "count-selected(.) <= 2",
        None,
    ],
    ["begin_group", "M", "评价", "Rating", None, None, None, None, "table-list"],
    ["select_one agree", "M_speed", "速度", "Speed", None, "yes", None, None, None],
    ["select_one agree", "M_price", "价格", "Price", None, "yes", None, None, None],
    ["end_group", None, None, None, None, None, None, None, None],
    [
        "text",
        "why",
        "为什么",
        "Why",
        None,
        "no",
        "${M_speed} = 2 or selected(${F}, 'a')",
        "string-length(.) <= 200",
        None,
    ],
    ["decimal", "spend", "花费", "Spend", None, None, None, None, None],
    ["end_group", None, None, None, None, None, None, None, None],
]
KOBO_CHOICES = [
    ["list_name", "name", "label::Chinese (zh)", "label::English (en)"],
    ["sex", "1", "男", "Male"],
    ["sex", "2", "女", "Female"],
    ["fruit", "a", "苹果", "Apple"],
    ["fruit", "b", "梨", "Pear"],
    ["agree", "1", "同意", "Agree"],
    ["agree", "2", "不同意", "Disagree"],
]


def test_a_kobo_form_maps_onto_questionnaire_v1():
    data = workbook(
        KOBO_SURVEY,
        KOBO_CHOICES,
        [
            ["form_title", "form_id", "default_language"],
            ["水果调查", "Fruit Survey", "Chinese (zh)"],
        ],
    )
    result = xlsform_read(data, filename="fruit.xlsx")
    document = result.document
    assert validate_definition(document) == []
    assert document["slug"] == "fruit-survey"
    assert document["languages"] == ["zh-hans", "en"]
    assert document["title"] == "水果调查"
    [section] = document["sections"]
    assert section["code"] == "A" and section["title"] == {"zh-hans": "基本情况", "en": "About you"}
    questions = {q["code"]: q for q in section["questions"]}
    assert list(questions) == ["D1", "age", "F", "M", "why", "spend"]
    # A note becomes the hint of the question after it.
    assert questions["D1"]["hint"] == {"zh-hans": "欢迎", "en": "Welcome"}
    assert questions["D1"]["options"] == [
        {"code": 1, "label": {"zh-hans": "男", "en": "Male"}},
        {"code": 2, "label": {"zh-hans": "女", "en": "Female"}},
    ]
    age = questions["age"]
    assert (age["min"], age["max"], age["show_if"], age["hint"]) == (
        0,
        120,
        "D1 == 1",
        {"en": "In years"},
    )
    fruit = questions["F"]
    assert fruit["type"] == "multiple" and fruit["required"] is False
    assert fruit["max_choices"] == 2
    assert fruit["show_if"] == "D1 == 2 and not (age < 18)"
    assert fruit["options"][-1] == {
        "code": "other",
        "label": {"zh-hans": "其他", "en": "Other"},
        "other": True,
    }
    matrix = questions["M"]
    assert matrix["type"] == "matrix" and matrix["label"] == {"zh-hans": "评价", "en": "Rating"}
    assert [i["code"] for i in matrix["items"]] == ["speed", "price"]
    assert [o["code"] for o in matrix["scale"]] == [1, 2]
    assert questions["why"]["show_if"] == 'M.speed == 2 or F has "a"'
    assert questions["why"]["max_length"] == 200
    assert questions["spend"]["integer"] is False
    assert result.notes == ["row 2 (start): a metadata field (start), not imported"]


@pytest.mark.django_db
def test_a_kobo_form_imports_and_its_form_shows_the_hint(client):
    data = workbook(KOBO_SURVEY, KOBO_CHOICES, [["form_id"], ["fruit"]])
    document = read_definition_file(data, filename="fruit.xlsx").document
    questionnaire = questionnaire_import(definition=document)
    assert Question.objects.get(code="D1").extra == {"hint": {"zh-hans": "欢迎", "en": "Welcome"}}
    questionnaire.status = Questionnaire.Status.OPEN
    questionnaire.save()
    page = client.get(reverse("survey:form", args=["fruit"]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert '<span class="qnote">Welcome</span>' in page.content.decode()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["geopoint", "where", "Where?"], "the question type geopoint has no equivalent in Wenji"),
        (["date", "when", "When?"], "the question type date has no equivalent in Wenji"),
        (
            ["calculate", "total", None, None, "1 + 1"],
            "the question type calculate has no equivalent in Wenji",
        ),
        (
            ["text", "name", "Name?", "${q1} = 'a' or ../q1 = 'b'"],
            "relevant \"${q1} = 'a' or ../q1 = 'b'\" cannot be translated: "
            "'..' is not supported there",
        ),
        (
            ["text", "name", "Name?", "count-selected(${q1}) > 1"],
            "relevant 'count-selected(${q1}) > 1' cannot be translated: "
            "the function count-selected() is not supported",
        ),
        (
            ["text", "name", "Name?", "${q1} != ''"],
            "relevant \"${q1} != ''\" cannot be translated: "
            "comparing with '' (unanswered) has no equivalent",
        ),
        (
            ["integer", "n", "N?", None, None, ". mod 2 = 0"],
            "the constraint '. mod 2 = 0' has no equivalent in Wenji "
            "(a number question takes . >= N and . <= N)",
        ),
        (
            ["text", "name", "Name?", None, None, None, "Ann"],
            "a default answer (column default) has no equivalent in Wenji",
        ),
        (
            ["select_one_from_file towns.csv", "town", "Town?"],
            "choices from a file or another form are not supported",
        ),
    ],
)
def test_what_wenji_cannot_express_is_refused_with_its_row(row, reason):
    header = ["type", "name", "label", "relevant", "calculation", "constraint", "default"]
    survey = [header, ["text", "q1", "First"], row + [None] * (len(header) - len(row))]
    with pytest.raises(DefinitionError) as refused:
        xlsform_read(workbook(survey), filename="f.xlsx")
    assert refused.value.problems == [f"row 3 ({row[1]}): {reason}"]


def test_a_repeat_is_refused_with_its_row():
    survey = [
        ["type", "name", "label"],
        ["begin_repeat", "kids", "Children"],
        ["text", "kid", "Name"],
        ["end_repeat", None, None],
    ]
    with pytest.raises(DefinitionError) as refused:
        xlsform_read(workbook(survey))
    assert refused.value.problems == [
        "row 2 (kids): repeats (a group answered several times) are not supported"
    ]


def test_a_broken_workbook_is_refused_with_pyxforms_reason():
    with pytest.raises(DefinitionError) as refused:
        xlsform_read(workbook([["type", "name", "label"], ["select_one nolist", "q", "Q"]]))
    [problem] = refused.value.problems
    assert problem.startswith("file: ") and "choices sheet" in problem


def test_a_file_that_is_not_a_workbook_is_read_as_yaml_or_json(full_definition):
    data = write_definition_file(full_definition, fmt="yaml")
    assert read_definition_file(data, filename="every.yaml").document == full_definition
    assert read_definition_file(write_definition_file(full_definition, fmt="xlsform")).document == (
        full_definition
    )


# --- generated documents round-trip ---------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_round_trip_through_xlsform(document):
    """Any text but a no-break space, which pyxform reads as a space in every cell."""
    assert validate_definition(document) == []
    data = xlsform_write(document)
    assert xlsform_read(data).document == document


def test_a_hand_made_workbook_reads_the_same_from_any_file_name(tmp_path: Path):
    data = workbook(
        [["type", "name", "label"], ["text", "q", "Q"]], settings_rows=[["form_id"], ["x"]]
    )
    assert read_definition_file(data, filename="upload.bin").document["sections"][0][
        "questions"
    ] == [{"code": "q", "type": "text", "label": "Q", "required": False}]


def test_names_that_are_not_codes_are_renamed_and_noted():
    survey = [
        ["type", "name", "label"],
        ["begin_group", "my-group", "G"],
        ["select_one yn", "q1", "Q1"],
        ["begin_group", "inner", "Inner"],
        ["text", "q1", "Again"],
        ["end_group", None, None],
        ["note", "thanks", "Thanks, ${my-group}"],
        ["end_group", None, None],
    ]
    choices = [["list_name", "name", "label"], ["yn", "y", "Yes"], ["yn", "n", "No"]]
    result = xlsform_read(workbook(survey, choices))
    [section] = result.document["sections"]
    assert section["code"] == "my_group"
    assert [q["code"] for q in section["questions"]] == ["q1", "q1_2"]
    # The trailing note went to the last question, as written (no piping).
    assert section["questions"][1]["hint"] == "Thanks, ${my-group}"
    assert result.notes == [
        "row 2 (my-group): the name 'my-group' is now my_group "
        "(a code takes letters, digits and _, and is unique)",
        "row 5 (q1): the name 'q1' is now q1_2 (a code takes letters, digits and _, and is unique)",
        "row 7 (thanks): ${…} is shown as written (answers are not piped into text)",
    ]
    assert validate_definition(result.document) == []


def test_the_old_or_specify_other_syntax_outside_groups():
    survey = [
        ["type", "name", "label::English (en)"],
        ["select one from sexes or specify other", "sex", "Sex?"],
        ["integer", "age", "Age?"],
    ]
    choices = [["list name", "name", "label::English (en)"], ["sexes", "m", "Male"]]
    document = xlsform_read(workbook(survey, choices)).document
    assert document["languages"] == ["en"]
    [section] = document["sections"]
    assert section["code"] == "S1"
    assert [q["code"] for q in section["questions"]] == ["sex", "age"]
    assert section["questions"][0]["options"][-1] == {
        "code": "other",
        "label": {"en": "Other"},
        "other": True,
    }


def test_a_field_list_group_of_one_choice_list_inside_a_section_is_a_matrix():
    survey = [
        ["type", "name", "label", "appearance"],
        ["begin_group", "S", "Section", None],
        ["select_one agree", "q0", "Before", None],
        ["begin_group", "rate", "Rate these", "field-list"],
        ["select_one agree", "rate_speed", "Speed", None],
        ["select_one agree", "rate_price", "Price", None],
        ["end_group", None, None, None],
        ["end_group", None, None, None],
    ]
    choices = [["list_name", "name", "label"], ["agree", "1", "Agree"], ["agree", "2", "No"]]
    [section] = xlsform_read(workbook(survey, choices)).document["sections"]
    q0, rate = section["questions"]
    assert q0["type"] == "single"
    assert (rate["type"], rate["label"]) == ("matrix", "Rate these")
    assert [i["code"] for i in rate["items"]] == ["speed", "price"]
    assert [o["code"] for o in rate["scale"]] == [1, 2]


def test_a_refused_row_reads_in_chinese_for_a_chinese_admin():
    from django.utils import translation

    data = workbook([["type", "name", "label"], ["geopoint", "where", "在哪里？"]])
    with translation.override("zh-hans"), pytest.raises(DefinitionError) as refused:
        xlsform_read(data)
    assert refused.value.problems == ["第 2 行（where）: 问集没有与题型 geopoint 对应的题型"]


@pytest.mark.skipif(shutil.which("java") is None, reason="needs java for ODK Validate")
def test_odk_validate_accepts_what_we_write(full_definition):
    """ODK Validate (the Java checker ODK Collect's makers ship inside pyxform) accepts the
    form too, not only pyxform's own conversion."""
    warnings: list[str] = []
    result = convert(
        xlsform=xlsform_write(full_definition), warnings=warnings, file_type=".xlsx", validate=True
    )
    assert "<h:title>每个功能</h:title>" in result.xform


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_before_it_is_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 2**20))
    data = buffer.getvalue()
    assert len(data) < 200_000  # a small upload …
    with pytest.raises(DefinitionError) as refused:
        read_definition_file(data, filename="bomb.xlsx")
    assert refused.value.problems == ["file: the workbook unpacks to 60 MB, more than 50 MB"]


def test_a_broken_zip_is_refused_not_a_crash():
    with pytest.raises(DefinitionError) as refused:
        read_definition_file(b"PK\x03\x04 not really a zip", filename="broken.xlsx")
    assert refused.value.problems[0].startswith("file: not a readable XLSForm")
