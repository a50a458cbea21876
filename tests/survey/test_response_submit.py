import uuid
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from survey.models import Answer, Questionnaire, Respondent, Response
from survey.services.identity import Identity, identity_hash
from survey.services.responses import (
    AnswersInvalid,
    QuestionnaireNotOpen,
    SubmissionConflict,
    TimingInvalid,
    response_submit,
)
from tests.survey.answers import complete_answers

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def submit(questionnaire, answers, **kwargs):
    kwargs.setdefault("submission_id", uuid.uuid4())
    kwargs.setdefault("channel", "api")
    return response_submit(questionnaire=questionnaire, answers=answers, **kwargs)


def errors_of(questionnaire, answers, **kwargs):
    with pytest.raises(AnswersInvalid) as excinfo:
        submit(questionnaire, answers, **kwargs)
    return excinfo.value.fields


def test_a_complete_response_is_stored_with_one_row_per_answered_cell(ipb):
    result = submit(ipb, complete_answers())
    assert result.created
    response = result.response
    assert response.status == Response.Status.VALID
    assert response.reasons == []
    rows = Answer.objects.filter(response=response)
    # 7 singles (D1-D6, Q3, Q4, Q1, Q17, Q14, Q15 = 12) + 4 grid + 5+6+7 matrix items
    # + Q8 2 + Q9 1 + Q10 1 + Q11 2 + Q12 1 + Q13 1 + Q16 2
    assert rows.filter(question__code="Q2").count() == 4
    assert rows.filter(question__code="Q5").count() == 5
    assert rows.filter(question__code="Q8").count() == 2
    assert rows.get(question__code="D2").option.code == "3"
    assert rows.get(question__code="Q2", item__code="b").number == 4
    assert response.answers["Q9"] == [1, 4]


def test_the_same_submission_id_with_the_same_answers_adds_no_row(ipb):
    submission_id = uuid.uuid4()
    first = submit(ipb, complete_answers(), submission_id=submission_id)
    again = submit(ipb, complete_answers(), submission_id=submission_id)
    assert not again.created
    assert again.response.pk == first.response.pk
    assert Response.objects.count() == 1


def test_option_codes_sent_as_strings_are_the_same_submission(ipb):
    submission_id = uuid.uuid4()
    submit(ipb, complete_answers(), submission_id=submission_id)
    answers = complete_answers()
    answers["D1"] = "1"
    again = submit(ipb, answers, submission_id=submission_id)
    assert not again.created


def test_the_same_submission_id_with_other_answers_is_a_conflict(ipb):
    submission_id = uuid.uuid4()
    submit(ipb, complete_answers(), submission_id=submission_id)
    with pytest.raises(SubmissionConflict):
        submit(ipb, complete_answers(D1=2), submission_id=submission_id)
    assert Response.objects.count() == 1


def test_a_retry_after_the_questionnaire_closed_returns_the_stored_response(ipb):
    submission_id = uuid.uuid4()
    first = submit(ipb, complete_answers(), submission_id=submission_id)
    ipb.close()
    again = submit(ipb, complete_answers(), submission_id=submission_id)
    assert again.response.pk == first.response.pk
    with pytest.raises(QuestionnaireNotOpen):
        submit(ipb, complete_answers())


def test_a_draft_questionnaire_refuses_submissions(ipb_draft):
    with pytest.raises(QuestionnaireNotOpen):
        submit(ipb_draft, complete_answers())
    assert Response.objects.count() == 0


def test_missing_required_answers_are_named(ipb):
    answers = complete_answers()
    del answers["D1"]
    del answers["Q5"]["c"]
    fields = errors_of(ipb, answers)
    assert set(fields) == {"D1", "Q5.c"}


def test_unknown_codes_options_and_items_are_refused(ipb):
    fields = errors_of(ipb, complete_answers(NOPE=1, D2=9, Q5={"a": 1, "z": 1}))
    assert "NOPE" in fields
    assert "D2" in fields
    assert "Q5.z" in fields


@pytest.mark.parametrize(
    ("code", "value", "fragment"),
    [
        ("D1", True, "option code"),
        ("D1", [1], "option code"),
        ("Q9", 1, "list"),
        ("Q9", [1, 1], "twice"),
        ("Q9", [1, 7], "together"),
        ("Q8", [1, 2, 3, 4], "at most 3"),
        ("Q2", {"a": 1.5, "b": 1, "c": 1, "d": 1}, "whole number"),
        ("Q2", {"a": 100, "b": 1, "c": 1, "d": 1}, "at most 99"),
        ("Q2", {"a": -1, "b": 1, "c": 1, "d": 1}, "at least 0"),
        ("Q2", {"a": "3", "b": 1, "c": 1, "d": 1}, "number"),
        ("Q2", {"a": 10**30, "b": 1, "c": 1, "d": 1}, "too large"),
        ("Q5", [1, 2], "object"),
        ("Q18", 12, "text"),
        ("Q18", "x" * 2001, "2000"),
        ("Q18", "bell\x07", "control"),
        ("Q18", "nul\x00", "control"),
    ],
)
def test_wrong_shapes_and_values_are_refused_with_the_question_named(ipb, code, value, fragment):
    fields = errors_of(ipb, complete_answers(**{code: value}))
    key = next(k for k in fields if k.split(".")[0] == code)
    assert any(fragment in message for message in fields[key]), fields


def test_text_is_trimmed_and_an_empty_optional_text_is_unanswered(ipb):
    response = submit(ipb, complete_answers(Q18="  希望页面更快  ")).response
    assert response.answers["Q18"] == "希望页面更快"
    response = submit(ipb, complete_answers(Q18="   ")).response
    assert "Q18" not in response.answers


def test_other_text_is_kept_with_its_option_and_refused_without_it(ipb):
    response = submit(ipb, complete_answers(D6=8, **{"D6.other": "协会"})).response
    row = Answer.objects.get(response=response, question__code="D6")
    assert (row.option.code, row.text) == ("8", "协会")
    fields = errors_of(ipb, complete_answers(D6=1, **{"D6.other": "协会"}))
    assert "D6.other" in fields
    fields = errors_of(ipb, complete_answers(**{"Q3.other": "x"}))
    assert "Q3.other" in fields


def test_an_answer_to_a_hidden_question_is_refused_or_dropped(ipb):
    answers = complete_answers(Q15=2, Q15R="因为")
    fields = errors_of(ipb, answers)
    assert list(fields) == ["Q15R"]
    response = submit(ipb, answers, drop_hidden=True).response
    assert "Q15R" not in response.answers


def test_a_shown_optional_question_may_be_answered(ipb):
    response = submit(ipb, complete_answers(Q15=1, Q15R="因为")).response
    assert response.answers["Q15R"] == "因为"


def test_nothing_is_stored_when_answers_are_refused(ipb):
    with pytest.raises(AnswersInvalid):
        submit(ipb, complete_answers(D1=7))
    assert Response.objects.count() == 0
    assert Answer.objects.count() == 0


def test_answers_must_be_an_object(ipb):
    assert "answers" in errors_of(ipb, [1, 2, 3])


def test_a_failed_attention_check_invalidates_and_straightlining_flags(ipb):
    response = submit(ipb, complete_answers(Q17=1)).response
    assert response.status == Response.Status.INVALID
    assert response.reasons == ["attention"]
    flat = {item: 2 for item in "abcde"}
    response = submit(ipb, complete_answers(Q5=flat)).response
    assert response.status == Response.Status.FLAGGED
    assert response.reasons == ["straightlining"]


def test_a_second_submission_by_the_same_respondent_is_kept_and_marked_duplicate(ipb):
    identity = Identity("device", "device-123")
    first = submit(ipb, complete_answers(), identity=identity).response
    second = submit(ipb, complete_answers(), identity=identity).response
    other = submit(ipb, complete_answers(), identity=Identity("device", "device-456")).response
    assert first.status == Response.Status.VALID
    assert second.status == Response.Status.INVALID
    assert second.reasons == ["duplicate"]
    assert other.status == Response.Status.VALID
    assert Response.objects.count() == 3


def test_raw_identities_and_ip_addresses_are_never_stored(ipb):
    identity = Identity("wechat", "oPENID-raw-value-1")
    response = submit(ipb, complete_answers(), identity=identity, ip_address="10.1.2.3").response
    respondent = Respondent.objects.get()
    assert respondent.identity_hash == identity_hash(identity)
    assert "oPENID" not in respondent.identity_hash
    assert response.ip_hash and "10.1.2.3" not in response.ip_hash
    assert "oPENID" not in repr(identity)


def test_timing_is_recorded_and_impossible_times_refused(ipb):
    now = timezone.now()
    response = submit(ipb, complete_answers(), started_at=now - timedelta(minutes=8)).response
    assert 479 < response.duration_seconds < 481
    with pytest.raises(TimingInvalid) as excinfo:
        submit(ipb, complete_answers(), started_at=now + timedelta(hours=1))
    assert "started_at" in excinfo.value.fields
    with pytest.raises(TimingInvalid) as excinfo:
        submit(
            ipb,
            complete_answers(),
            started_at=now - timedelta(minutes=1),
            submitted_at=now - timedelta(minutes=2),
        )
    assert "started_at" in excinfo.value.fields


def test_a_collector_may_send_an_earlier_submission_time(ipb):
    then = timezone.now() - timedelta(days=3)
    response = submit(
        ipb, complete_answers(), started_at=then - timedelta(minutes=5), submitted_at=then
    ).response
    assert response.submitted_at == then
    assert response.duration_seconds == 300


def test_the_speeder_rule_leaves_the_status_provisional(ipb):
    assert submit(ipb, complete_answers()).response.status_provisional


def test_messages_follow_the_active_language(ipb):
    with translation.override("zh-hans"):
        fields = errors_of(ipb, complete_answers(Q2={"a": 1.5, "b": 1, "c": 1, "d": 1}))
    assert fields["Q2.a"] == ["输入整数。"]


@pytest.mark.parametrize("hours", [-5.5, 10.25, 0.000001, 7, 0])
def test_every_answer_row_is_stored_as_sent_awkward_text_and_numbers_included(
    full_definition, hours
):
    """The rows written with the response (one statement on PostgreSQL) hold exactly the
    normalised answers: numbers to the last place, text with quotes, backslashes, line
    breaks, JSON-looking and non-BMP characters, and the ``other`` text on its option."""
    from decimal import Decimal

    from survey.models import ResponseChange
    from survey.services.questionnaires import questionnaire_import, questionnaire_publish

    questionnaire = questionnaire_publish(
        questionnaire=questionnaire_import(definition=full_definition)
    )
    awkward = '自述 \'single\' "quoted" \\ back\\slash\nnew line, {"json": [1]} 🙂 $1 %s ü'
    answers = {
        "gender": 1,
        "check": "b",
        "channels": [1, 3],
        "channels.other": awkward,
        "rating": {"a": 1, "b": 3},
        "hours": hours,
        "counts": {"1": 99, "two": 0},
        "why": awkward,
        "more": "  x  ",
    }
    try:
        response = submit(questionnaire, answers).response
    except AnswersInvalid as exc:
        raise AssertionError(exc.fields) from exc
    stored = sorted(
        (
            row.question.code,
            row.item.code if row.item else "",
            row.option.code if row.option else "",
            row.number,
            row.text,
        )
        for row in Answer.objects.filter(response=response).select_related(
            "question", "item", "option"
        )
    )
    assert stored == sorted(
        [
            ("gender", "", "1", None, ""),
            ("check", "", "b", None, ""),
            ("channels", "", "1", None, ""),
            ("channels", "", "3", None, awkward),
            ("rating", "a", "1", None, ""),
            ("rating", "b", "3", None, ""),
            ("hours", "", "", Decimal(str(hours)), ""),
            ("counts", "1", "", Decimal(99), ""),
            ("counts", "two", "", Decimal(0), ""),
            ("why", "", "", None, awkward),
            ("more", "", "", None, "x"),
        ]
    )
    assert ResponseChange.objects.filter(response_id=response.pk).count() == 1
    fresh = Response.objects.get(pk=response.pk)
    assert (fresh.answers, fresh.submission_id, fresh.status) == (
        response.answers,
        response.submission_id,
        response.status,
    )


def test_a_questionnaire_read_before_it_was_closed_is_read_again_and_the_submission_refused(ipb):
    stale = Questionnaire.objects.get(pk=ipb.pk)
    ipb.close()
    assert stale.status == Questionnaire.Status.OPEN
    with pytest.raises(QuestionnaireNotOpen):
        submit(stale, complete_answers())
    assert not Response.objects.exists()


def test_a_questionnaire_changed_since_it_was_read_is_read_again_before_storing(ipb):
    stale = Questionnaire.objects.get(pk=ipb.pk)
    ipb.bump_definition_version()  # as an import changing a score would
    result = submit(stale, complete_answers())
    assert result.created
    result.response.refresh_from_db()
    assert result.response.definition_version == ipb.definition_version == 2
    assert stale.definition_version == 2


def test_a_questionnaire_that_keeps_changing_gives_up_with_a_conflict(ipb, monkeypatch):
    from survey.services import responses

    stale = Questionnaire.objects.get(pk=ipb.pk)
    refreshes = []

    def refresh_then_change(self, *args, **kwargs):
        Questionnaire.refresh_from_db(self, *args, **kwargs)
        refreshes.append(self.updated_at)
        ipb.bump_definition_version()  # changed again before the next attempt stores

    monkeypatch.setattr(stale, "refresh_from_db", refresh_then_change.__get__(stale))
    ipb.bump_definition_version()
    with pytest.raises(SubmissionConflict):
        submit(stale, complete_answers())
    assert len(refreshes) == responses._ATTEMPTS
    assert not Response.objects.exists()
