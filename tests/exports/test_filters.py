"""Which responses an export holds: validity, date range and segment filters, and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exports.exporters.filters import ExportInvalid, filters_parse
from exports.services import export_stream_csv
from tests.exports.support import BASE_TIME, csv_rows, submit
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db


def exported(questionnaire, user, **filters) -> list[dict[str, str]]:
    result = export_stream_csv(
        questionnaire=questionnaire,
        kind="responses_wide",
        filters=filters,
        options={"values": "codes"},  # statuses and reasons as codes, to compare
        user=user,
    )
    rows = csv_rows(b"".join(result.chunks))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def ids(rows: list[dict[str, str]]) -> list[int]:
    return [int(row["response_id"]) for row in rows]


@pytest.fixture
def mixed(ipb):
    """A valid, a flagged (straight-lined) and an invalid (failed attention) response."""
    valid = submit(ipb)
    flagged = submit(ipb, complete_answers(Q5={"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}))
    invalid = submit(ipb, complete_answers(Q17=1))
    return valid, flagged, invalid


def test_by_default_only_valid_responses_are_exported_flagged_ones_included(ipb, analyst, mixed):
    valid, flagged, _invalid = mixed
    rows = exported(ipb, analyst)
    assert ids(rows) == [valid.pk, flagged.pk]
    assert [(row["status"], row["reasons"]) for row in rows] == [
        ("valid", ""),
        ("flagged", "straightlining"),
    ]


def test_all_exports_every_response_with_its_status_and_reasons(ipb, analyst, mixed):
    rows = exported(ipb, analyst, status="all")
    assert ids(rows) == [response.pk for response in mixed]
    assert (rows[2]["status"], rows[2]["reasons"]) == ("invalid", "attention")


@pytest.mark.parametrize(
    ("status", "kept"), [("clean", (0,)), ("flagged", (1,)), ("invalid", (2,))]
)
def test_one_status_alone_can_be_exported(ipb, analyst, mixed, status, kept):
    assert ids(exported(ipb, analyst, status=status)) == [mixed[i].pk for i in kept]


def test_the_date_range_includes_both_end_days(ipb, analyst):
    day = timedelta(days=1)
    early = submit(ipb, submitted_at=BASE_TIME - 3 * day)
    middle = submit(ipb, submitted_at=BASE_TIME - 2 * day)
    late = submit(ipb, submitted_at=BASE_TIME - day)
    local = timezone.localtime
    start = local(middle.submitted_at).date().isoformat()
    end = local(late.submitted_at).date().isoformat()
    assert ids(exported(ipb, analyst, submitted_from=start, submitted_to=end)) == [
        middle.pk,
        late.pk,
    ]
    assert ids(exported(ipb, analyst, submitted_to=start)) == [early.pk, middle.pk]
    exact = middle.submitted_at.isoformat()
    assert ids(exported(ipb, analyst, submitted_from=exact, submitted_to=exact)) == [middle.pk]


def test_the_segment_filter_keeps_only_responses_its_rule_selects(ipb, analyst):
    submit(ipb, complete_answers(Q14=1))
    sceptic = submit(ipb, complete_answers(Q14=4))
    also = submit(ipb, complete_answers(Q14=3))
    assert ids(exported(ipb, analyst, segment="trend_sceptic")) == [sceptic.pk, also.pk]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"submitted_from": "yesterday"}, "submitted_from"),
        ({"submitted_to": "2024-02-30"}, "submitted_to"),
        ({"submitted_from": "2024-05-02", "submitted_to": "2024-05-01"}, "submitted_to"),
        ({"segmnt": "active"}, "segmnt"),
        ({"segment": 5}, "segment"),
    ],
)
def test_a_wrong_filter_is_refused_naming_the_field(filters, field):
    with pytest.raises(ExportInvalid) as refused:
        filters_parse(filters)
    assert field in refused.value.fields


def test_an_unknown_segment_is_refused_naming_the_segments_there_are(ipb, analyst):
    with pytest.raises(ExportInvalid) as refused:
        exported(ipb, analyst, segment="nobody")
    assert "trend_sceptic" in refused.value.fields["segment"][0]


def test_filters_read_back_from_their_stored_form_are_the_same():
    filters = filters_parse(
        {"status": "all", "submitted_from": "2024-05-01", "submitted_to": "2024-05-31T18:00"}
    )
    assert filters_parse(filters.as_dict()) == filters


def test_the_api_names_a_wrong_filter_in_the_body_and_in_the_query(ipb, analyst, client_for):
    client = client_for(analyst)
    url = f"/api/v1/questionnaires/{ipb.slug}/exports/"
    body = {"kind": "responses_wide", "format": "csv", "filters": {"submitted_from": "soon"}}
    answer = client.post(url, body, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid"
    assert "filters.submitted_from" in answer.json()["fields"]

    answer = client.post(url, {**body, "filters": {"segment": "nobody"}}, format="json")
    assert answer.status_code == 400 and "filters.segment" in answer.json()["fields"]

    answer = client.get(f"{url}responses.csv?status=maybe")
    assert answer.status_code == 400 and "status" in answer.json()["fields"]
    answer = client.get(f"{url}responses.csv?stauts=all")
    assert answer.status_code == 400 and "stauts" in answer.json()["fields"]


def test_the_channel_and_answer_filters(ipb, analyst):
    man = submit(
        ipb, complete_answers(D1=1, Q9=[1, 2], Q5={"a": 1, "b": 2, "c": 2, "d": 1, "e": 1})
    )
    woman = submit(ipb, complete_answers(D1=2, Q9=[2], Q5={"a": 4, "b": 2, "c": 2, "d": 1, "e": 1}))
    web = submit(ipb, complete_answers(D1=2))
    Response = type(web)
    Response.objects.filter(pk=web.pk).update(channel=Response.Channel.WEB)
    assert ids(exported(ipb, analyst, answer="D1=2")) == [woman.pk, web.pk]
    assert ids(exported(ipb, analyst, answer="Q9=1")) == [man.pk, web.pk]  # a multiple choice
    assert ids(exported(ipb, analyst, answer="Q5.a=4")) == [woman.pk]  # a matrix item
    assert ids(exported(ipb, analyst, channel="web")) == [web.pk]
    assert ids(exported(ipb, analyst, channel="api", answer="D1=2")) == [woman.pk]


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"answer": "D1"}, "QUESTION=OPTION"),
        ({"answer": "D9=1"}, "not a choice question"),
        ({"answer": "D1=7"}, "has no option 7"),
        ({"answer": "Q5=1"}, "Name an item"),
        ({"answer": "D1.a=1"}, "has no items"),
        ({"channel": "fax"}, "Use one of"),
    ],
)
@pytest.mark.usefixtures("english")
def test_a_wrong_channel_or_answer_is_refused_naming_the_field(ipb, analyst, filters, words):
    submit(ipb)
    with pytest.raises(ExportInvalid) as refused:
        exported(ipb, analyst, **filters)
    field = next(iter(filters))
    assert words in " ".join(refused.value.fields[field])
