"""Importing, exporting, replacing, publishing and closing questionnaires, and the lock."""

from __future__ import annotations

import copy
import threading

import pytest
import yaml
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings

from survey.interchange import DefinitionError, dump_definition, load_definition
from survey.interchange_checks import validate_definition
from survey.models import (
    DerivedScore,
    Item,
    Option,
    Question,
    Questionnaire,
    Section,
    Segment,
    ValidityRule,
)
from survey.services.questionnaires import (
    QuestionnaireStateError,
    questionnaire_close,
    questionnaire_definition_changed,
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
    questionnaire_structure_lock_reason,
)
from tests.conftest import EXAMPLE_DEFINITION
from tests.survey.strategies import documents
from tests.survey.test_interchange import question

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


DEFINITION_MODELS = (Questionnaire, Section, Question, Option, Item, DerivedScore, Segment)


def _row_counts() -> dict[str, int]:
    models = (*DEFINITION_MODELS, ValidityRule)
    return {model.__name__: model.objects.count() for model in models}


def _import_error(definition: dict, **kwargs: bool) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        questionnaire_import(definition=definition, **kwargs)
    return caught.value.problems


# --- import and export --------------------------------------------------------------------------


def test_importing_the_reference_file_creates_its_whole_structure(reference_definition):
    questionnaire = questionnaire_import(definition=reference_definition)
    assert questionnaire.slug == "ipb-survey"
    assert questionnaire.status == Questionnaire.Status.DRAFT
    assert questionnaire.definition_version == 1
    assert questionnaire.one_response_per == "respondent"
    assert list(questionnaire.sections.values_list("code", flat=True)) == ["A", "B", "C", "D"]
    assert questionnaire.questions.count() == 25
    q5 = questionnaire.questions.get(code="Q5")
    assert list(q5.items.values_list("code", flat=True)) == ["a", "b", "c", "d", "e"]
    assert [(o.code, o.score) for o in q5.options.all()] == [
        ("1", 4),
        ("2", 3),
        ("3", 2),
        ("4", 1),
    ]
    assert questionnaire.questions.get(code="Q17").attention_expect == "2"
    assert questionnaire.questions.get(code="D6").options.get(code="8").is_other
    assert questionnaire.questions.get(code="Q9").options.get(code="7").exclusive
    assert questionnaire.scores.count() == 4
    assert questionnaire.segments.count() == 4
    assert dict(questionnaire.validity_rules.values_list("kind", "action")) == {
        "speeder": "invalidate",
        "attention": "invalidate",
        "duplicate": "invalidate",
        "straightlining": "flag",
    }


def test_the_reference_file_round_trips_through_import_and_export():
    text = EXAMPLE_DEFINITION.read_text(encoding="utf-8")
    questionnaire = questionnaire_import(definition=load_definition(text, filename="x.yaml"))
    exported = questionnaire_export(questionnaire=questionnaire)
    assert exported == yaml.safe_load(text)
    assert list(exported) == [
        "format",
        "slug",
        "languages",
        "title",
        "intro",
        "settings",
        "sections",
        "scores",
        "segments",
        "validity",
        "analysis",
    ]


def test_a_definition_using_every_feature_round_trips(full_definition):
    questionnaire = questionnaire_import(definition=copy.deepcopy(full_definition))
    assert questionnaire_export(questionnaire=questionnaire) == full_definition
    why = questionnaire.questions.get(code="why")
    assert why.extra == {"placeholder": {"zh-hans": "请填写"}, "x-widget": "textarea"}
    assert questionnaire.extra == {"x-owner": {"team": "research", "tags": ["pilot", 2024]}}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_an_exported_file_imports_back_to_the_same_definition(full_definition, fmt):
    first = questionnaire_import(definition=full_definition)
    text = dump_definition(questionnaire_export(questionnaire=first), fmt=fmt)
    copied = load_definition(text.replace("every-feature", "copy", 1), filename=f"x.{fmt}")
    second = questionnaire_import(definition=copied)
    assert questionnaire_export(questionnaire=second) == {**full_definition, "slug": "copy"}


def test_export_omits_defaults_and_writes_codes_and_numbers_as_written(full_definition):
    exported = questionnaire_export(questionnaire=questionnaire_import(definition=full_definition))
    gender = question(exported, "gender")
    assert [o["code"] for o in gender["options"]] == [1, 2, "x"]
    assert [o["score"] for o in gender["options"]] == [2, 1.5, -0.25]
    assert isinstance(gender["options"][0]["score"], int)
    assert "required" not in gender
    assert question(exported, "hours")["min"] == -5.5
    assert "integer" not in question(exported, "counts")
    assert [i["code"] for i in question(exported, "counts")["items"]] == [1, "two"]


def test_export_reads_a_fixed_number_of_queries(
    reference_questionnaire, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        questionnaire_export(questionnaire=reference_questionnaire)


def test_a_malformed_definition_writes_nothing_at_all(reference_definition):
    question(reference_definition, "Q4")["options"][3]["code"] = 2
    reference_definition["analysis"]["banner"].append("segment:nope")
    problems = _import_error(reference_definition)
    assert problems == [
        "sections[1].questions[2] (Q4).options: duplicate code 2",
        "analysis.banner[9]: unknown segment 'nope'",
    ]
    assert set(_row_counts().values()) == {0}


def test_a_failure_while_writing_rolls_back_every_row(reference_definition, monkeypatch):
    from survey.services import questionnaires

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(questionnaires, "_sync_segments", fail)
    with pytest.raises(RuntimeError):
        questionnaire_import(definition=reference_definition)
    assert set(_row_counts().values()) == {0}


def test_importing_an_existing_slug_without_replace_is_refused(reference_questionnaire):
    definition = load_definition(EXAMPLE_DEFINITION.read_bytes())
    assert _import_error(definition) == [
        "slug: a questionnaire ipb-survey already exists (import with replace to update it)"
    ]


def test_an_invalid_definition_is_refused_before_any_lookup_of_its_slug(reference_questionnaire):
    assert _import_error({"format": "questionnaire/v1", "slug": "ipb-survey"}, replace=True) == [
        "languages: missing (a list, the default language first)",
        "title: missing",
        "sections: missing (a list of {code, title, questions})",
    ]


# --- replace without responses ------------------------------------------------------------------


def test_replacing_a_questionnaire_without_responses_may_change_its_structure(
    reference_questionnaire, reference_definition
):
    q5_id = reference_questionnaire.questions.get(code="Q5").pk
    d1_options = dict(
        reference_questionnaire.questions.get(code="D1").options.values_list("code", "pk")
    )
    question(reference_definition, "Q1")["type"] = "number"
    question(reference_definition, "Q1").pop("options")
    question(reference_definition, "D1")["options"].append({"code": 3, "label": "其他"})
    reference_definition["sections"][3]["questions"].pop()  # Q18
    reference_definition["validity"].pop("speeder")

    replaced = questionnaire_import(definition=reference_definition, replace=True)

    assert replaced.pk == reference_questionnaire.pk
    assert questionnaire_export(questionnaire=replaced) == reference_definition
    assert replaced.questions.get(code="Q5").pk == q5_id
    d1 = replaced.questions.get(code="D1")
    assert {code: pk for code, pk in d1.options.values_list("code", "pk") if code != "3"} == (
        d1_options
    )
    assert not replaced.questions.filter(code="Q18").exists()
    assert not replaced.questions.get(code="Q1").options.exists()
    assert replaced.definition_version == 2


def test_sections_can_be_reorganised_and_questions_moved(
    reference_questionnaire, reference_definition
):
    sections = reference_definition["sections"]
    q18 = sections[3]["questions"].pop()
    sections.insert(0, {"code": "Z", "title": "新的一节", "questions": [q18]})
    sections.remove(next(s for s in sections if s["code"] == "B"))
    sections[1]["questions"] = [*sections[1]["questions"], *_section(reference_definition, "B")]
    replaced = questionnaire_import(definition=reference_definition, replace=True)
    assert questionnaire_export(questionnaire=replaced) == reference_definition
    assert list(replaced.sections.values_list("code", flat=True)) == ["Z", "A", "C", "D"]


def _section(definition: dict, code: str) -> list[dict]:
    original = load_definition(EXAMPLE_DEFINITION.read_bytes())
    return next(s["questions"] for s in original["sections"] if s["code"] == code)


def test_replacing_keeps_the_status(reference_questionnaire, reference_definition):
    questionnaire_publish(questionnaire=reference_questionnaire)
    replaced = questionnaire_import(definition=reference_definition, replace=True)
    assert replaced.status == Questionnaire.Status.OPEN


def test_replacing_with_the_same_definition_changes_nothing(
    reference_questionnaire, reference_definition, django_assert_max_num_queries
):
    before = reference_questionnaire.updated_at
    with django_assert_max_num_queries(33):
        replaced = questionnaire_import(definition=reference_definition, replace=True)
    assert replaced.definition_version == 1
    assert replaced.updated_at >= before


# --- replace with responses: the structural lock -------------------------------------------------


@pytest.fixture
def answered(reference_questionnaire, add_response) -> Questionnaire:
    add_response(reference_questionnaire, {"D1": 1, "Q5": {"a": 1, "b": 2}, "Q9": 7})
    add_response(reference_questionnaire, {"D1": 2})
    return reference_questionnaire


def test_the_lock_reason_is_none_until_there_are_responses(reference_questionnaire):
    assert questionnaire_structure_lock_reason(questionnaire=reference_questionnaire) is None


def test_the_lock_reason_says_how_many_responses_and_what_can_still_change(answered):
    assert questionnaire_structure_lock_reason(questionnaire=answered) == (
        "ipb-survey has 2 responses: questions, options and items can no longer be added, "
        "removed or recoded. Labels and scores can still change."
    )


def test_the_lock_reason_groups_thousands(reference_questionnaire, add_response):
    from survey.models import Response

    add_response(reference_questionnaire)
    Response.objects.bulk_create(
        [
            Response(
                questionnaire=reference_questionnaire,
                submission_id=f"00000000-0000-4000-8000-{n:012d}",
                answers_digest="0" * 64,
                channel="api",
                definition_version=1,
            )
            for n in range(2298)
        ]
    )
    reason = questionnaire_structure_lock_reason(questionnaire=reference_questionnaire)
    assert reason.startswith("ipb-survey has 2,299 responses: ")


def test_structural_changes_are_refused_naming_each_change(answered, reference_definition):
    d1 = question(reference_definition, "D1")
    d1["options"] = [d1["options"][0], {"code": 3, "label": "女"}]  # 2 recoded as 3
    question(reference_definition, "Q5")["items"].pop()  # e
    question(reference_definition, "Q6")["scale"].append({"code": 5, "label": "不知道"})
    question(reference_definition, "Q18")["type"] = "single"
    question(reference_definition, "Q18")["options"] = [{"code": 1, "label": "有"}]
    question(reference_definition, "Q18").pop("max_length")
    question(reference_definition, "D6")["options"][7].pop("other")
    question(reference_definition, "Q9")["options"][0]["exclusive"] = True
    reference_definition["sections"][3]["questions"].pop(2)  # Q15R
    reference_definition["sections"][3]["questions"].append(
        {"code": "Q19", "type": "text", "label": "新问题", "required": False}
    )
    before = questionnaire_export(questionnaire=answered)

    problems = _import_error(reference_definition, replace=True)

    assert problems == [
        "slug: ipb-survey has 2 responses: questions, options and items can no longer be "
        "added, removed or recoded. Labels and scores can still change.",
        "question Q15R: removed",
        "question Q19: added",
        # with what it would orphan, and the way out
        "question D1: option 2 removed (1 answer); to keep them, mark it hidden "
        "(hidden: true) instead of removing it",
        "question D1: option 3 added",
        "question D6: option 8: other changed to false",
        "question Q5: item e removed (1 answer)",
        "question Q6: scale point 5 added",
        "question Q9: option 1: exclusive changed to true",
        "question Q18: type changed from text to single",
    ]
    assert questionnaire_export(questionnaire=answered) == before


def test_label_score_and_analysis_changes_apply_in_place_on_a_locked_questionnaire(
    answered, reference_definition
):
    ids = {
        "D1": answered.questions.get(code="D1").pk,
        "Q5 options": list(answered.questions.get(code="Q5").options.values_list("pk", flat=True)),
        "Q5 items": list(answered.questions.get(code="Q5").items.values_list("pk", flat=True)),
    }
    question(reference_definition, "D1")["label"] = {"zh-hans": "性别", "en": "Sex"}
    question(reference_definition, "Q5")["scale"][0]["score"] = 5
    question(reference_definition, "Q5")["items"][0]["label"] = "内容"
    question(reference_definition, "Q15R")["show_if"] = "Q15 in [1, 3]"
    question(reference_definition, "Q15R").pop("required")  # now required
    reference_definition["segments"].pop()
    reference_definition["validity"]["straightlining"]["action"] = "invalidate"
    reference_definition["analysis"]["significance"] = 0.01
    section = reference_definition["sections"][3]["questions"]
    section[3], section[4] = section[4], section[3]  # Q11 and Q12

    replaced = questionnaire_import(definition=reference_definition, replace=True)

    assert questionnaire_export(questionnaire=replaced) == reference_definition
    assert replaced.definition_version == 2
    assert replaced.questions.get(code="D1").pk == ids["D1"]
    q5 = replaced.questions.get(code="Q5")
    assert list(q5.options.values_list("pk", flat=True)) == ids["Q5 options"]
    assert list(q5.items.values_list("pk", flat=True)) == ids["Q5 items"]


def test_a_label_only_change_keeps_the_definition_version(answered, reference_definition):
    reference_definition["title"] = "新标题"
    question(reference_definition, "Q3")["options"][0]["label"] = {"zh-hans": "积极"}
    reference_definition["scores"][0]["label"] = "使用"
    replaced = questionnaire_import(definition=reference_definition, replace=True)
    assert replaced.title == "新标题"
    assert replaced.definition_version == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda d: question(d, "Q3")["options"][0].update(score=3),
        lambda d: d["scores"].pop(),
        lambda d: d["segments"][0].update(rule="Q2.a >= 4"),
        lambda d: d["validity"]["speeder"].update(below_fraction_of_median=0.5),
        lambda d: d["analysis"]["banner"].pop(),
        lambda d: d["analysis"].update(significance=0.1),
        lambda d: question(d, "Q17")["attention_check"].update(expect=1),
    ],
    ids=["option score", "scores", "segment", "validity", "banner", "significance", "attention"],
)
def test_a_change_the_analysis_reads_raises_the_definition_version(
    answered, reference_definition, change
):
    change(reference_definition)
    replaced = questionnaire_import(definition=reference_definition, replace=True)
    assert replaced.definition_version == 2


def test_definition_changed_raises_the_version(reference_questionnaire):
    questionnaire_definition_changed(questionnaire=reference_questionnaire)
    assert reference_questionnaire.definition_version == 2
    reference_questionnaire.refresh_from_db()
    assert reference_questionnaire.definition_version == 2


# --- publish and close --------------------------------------------------------------------------


def test_publishing_opens_a_draft_and_closing_closes_it(reference_questionnaire):
    opened = questionnaire_publish(questionnaire=reference_questionnaire)
    assert opened.status == Questionnaire.Status.OPEN
    assert opened.opened_at is not None
    closed = questionnaire_close(questionnaire=opened)
    assert closed.status == Questionnaire.Status.CLOSED
    assert closed.closed_at is not None
    reopened = questionnaire_publish(questionnaire=closed)
    assert reopened.status == Questionnaire.Status.OPEN
    assert reopened.closed_at is None
    reopened.refresh_from_db()
    assert reopened.status == Questionnaire.Status.OPEN


def test_closing_a_draft_is_refused(reference_questionnaire):
    with pytest.raises(
        QuestionnaireStateError,
        match=r"ipb-survey is Draft: only an open questionnaire can be closed\.",
    ):
        questionnaire_close(questionnaire=reference_questionnaire)
    reference_questionnaire.refresh_from_db()
    assert reference_questionnaire.status == Questionnaire.Status.DRAFT


def test_publishing_a_definition_broken_after_import_is_refused(reference_questionnaire):
    # What an edit outside the import (the admin) could leave behind.
    Question.objects.filter(questionnaire=reference_questionnaire, code="Q15R").update(
        show_if="Q15 == 9"
    )
    with pytest.raises(DefinitionError) as caught:
        questionnaire_publish(questionnaire=reference_questionnaire)
    assert caught.value.problems == [
        'sections[3].questions[2] (Q15R).show_if: "Q15 == 9" at 7: Q15 has no option 9'
    ]
    reference_questionnaire.refresh_from_db()
    assert reference_questionnaire.status == Questionnaire.Status.DRAFT


# --- races ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_new_slug_at_once_create_it_once(reference_definition):
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def import_once() -> None:
        try:
            barrier.wait()
            questionnaire_import(definition=copy.deepcopy(reference_definition))
            outcomes.append("imported")
        except DefinitionError as exc:
            outcomes.extend(exc.problems)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == [
        "imported",
        "slug: a questionnaire ipb-survey already exists (import with replace to update it)",
    ]
    assert Questionnaire.objects.count() == 1
    assert Question.objects.count() == 25


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_generated_documents_round_trip_through_the_database_and_both_file_formats(document):
    """import → export is the identity, and so are YAML and JSON dump → load."""
    assert validate_definition(document) == []
    for fmt in ("yaml", "json"):
        assert load_definition(dump_definition(document, fmt=fmt)) == document
    with transaction.atomic():
        questionnaire = questionnaire_import(definition=document)
        assert questionnaire_export(questionnaire=questionnaire) == document
        transaction.set_rollback(True)
