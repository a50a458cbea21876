"""Many generated responses at once, straight into PostgreSQL with COPY: the benchmarks' loader.

The responses are the demo generator's (``responses_plan``: the latent-trait model, the invalid
kinds, the collection clock), planned in batches of ``BATCH_SIZE`` with seeds of their own so
memory stays flat at any count. Each is stored as the submit path would store it: answers
normalised by ``answers_check``, answer rows by ``answer_rows``, the digest by
``answers_digest``, respondents by their keyed identity hash. What it skips is the submit
path's per-response round trips, which would take hours at a million.

Promises:
- The same questionnaire, count, seed and ``period_end`` give the same rows.
- Every response is judged as the submit path judges it: the rules that read its own answers
  alone (attention, straight-lining) set its flags, its status and its ``validity_judged``
  stamp; it is stored ``status_provisional``, and the rules that need the other responses
  (speeder, duplicate) are left to the analysis' validity recompute. ``kinds`` says how many
  were planned to break which rule.
- PostgreSQL only. Foreign-key triggers are off while copying (as a restore does) and the
  answer table's secondary indexes are rebuilt once at the end; the tables are analysed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from django.utils import timezone

from demo.calibration import Calibration
from demo.generate import PlannedResponse, responses_plan, segment_rules
from survey.models import Answer, Questionnaire, Respondent, Response, ValidityRule
from survey.services.answers import answers_check
from survey.services.identity import Identity, identity_hash
from survey.services.responses import answer_rows, answers_digest
from survey.services.validity import judging_stamp, single_response_reasons, status_for
from survey.structure import Structure, structure_for

BATCH_SIZE = 20_000
_SEED_STRIDE = 1_000_003  # batch b of seed s plans with seed s * stride + b

Kind = ValidityRule.Kind

RESPONSE_COLUMNS = (
    "id, questionnaire_id, respondent_id, submission_id, answers_digest, answers, channel, "
    "definition_version, status, speeder, attention_failed, duplicate, straightlined, "
    "status_provisional, manual_status, started_at, submitted_at, duration_seconds, ip_hash, "
    "received_at, validity_judged"
)
ANSWER_COLUMNS = "response_id, question_id, item_id, option_id, number, text"
RESPONDENT_COLUMNS = "id, kind, identity_hash, created_at"


@dataclass
class BulkResult:
    responses: int = 0
    answers: int = 0
    respondents: int = 0
    kinds: dict[str, int] = field(default_factory=dict)  # planned responses by kind


def responses_bulk_load(
    *,
    dsn: str,
    questionnaire: Questionnaire,
    count: int,
    seed: int,
    calibration: Calibration | None = None,
    period_end: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """COPY ``count`` generated responses of ``questionnaire`` into the database at ``dsn``."""
    structure = structure_for(questionnaire)
    rules = segment_rules(questionnaire=questionnaire, structure=structure)
    end = period_end or timezone.now().replace(second=0, microsecond=0)
    result = BulkResult()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        indexes = _drop_answer_indexes(conn)
        next_response, next_respondent = (
            conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0]
            for table in (Response._meta.db_table, Respondent._meta.db_table)
        )
        for number, start in enumerate(range(0, count, BATCH_SIZE)):
            plan, _notes = responses_plan(
                structure=structure,
                rules=rules,
                count=min(BATCH_SIZE, count - start),
                seed=seed * _SEED_STRIDE + number,
                calibration=calibration,
                period_end=end,
            )
            batch = _Batch(structure, plan, next_response, next_respondent)
            _copy(conn, Respondent, RESPONDENT_COLUMNS, batch.respondent_lines())
            _copy(conn, Response, RESPONSE_COLUMNS, batch.response_lines())
            result.answers += _copy(conn, Answer, ANSWER_COLUMNS, batch.answer_lines())
            result.responses += len(plan)
            result.respondents += len(batch.respondents)
            for planned in plan:
                result.kinds[planned.kind] = result.kinds.get(planned.kind, 0) + 1
            next_response += len(plan)
            next_respondent += len(batch.respondents)
            if on_progress is not None:
                on_progress(result.responses, count)
        conn.execute("SET maintenance_work_mem = '512MB'")
        for definition in indexes:
            conn.execute(definition)
        for table in (Response._meta.db_table, Respondent._meta.db_table):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        tables = (Respondent, Response, Answer)
        conn.execute("VACUUM ANALYZE " + ", ".join(model._meta.db_table for model in tables))
    return result


class _Batch:
    """One planned batch as COPY lines, ids assigned in submission order."""

    def __init__(
        self, structure: Structure, plan: list[PlannedResponse], first: int, first_respondent: int
    ) -> None:
        self.structure = structure
        self.plan = plan
        self.first = first
        self.respondents: dict[str, tuple[int, datetime]] = {}
        for planned in plan:  # in submission order: a repeat finds its respondent
            if planned.respondent not in self.respondents:
                number = first_respondent + len(self.respondents)
                self.respondents[planned.respondent] = (number, planned.submitted_at)
        self.answers = [_normalised(structure, planned) for planned in plan]

    def respondent_lines(self) -> Iterator[str]:
        kind = Respondent.Kind.COLLECTOR
        for raw, (number, first_seen) in self.respondents.items():
            yield _line((number, kind, identity_hash(Identity(kind=kind, raw=raw)), first_seen))

    def response_lines(self) -> Iterator[str]:
        structure = self.structure
        version, stamp = structure.definition_version, judging_stamp(structure)
        for offset, (planned, answers) in enumerate(zip(self.plan, self.answers, strict=True)):
            duration = (planned.submitted_at - planned.started_at).total_seconds()
            document = json.dumps(answers, ensure_ascii=False, separators=(",", ":"))
            reasons = single_response_reasons(structure, answers)
            yield _line(
                (
                    self.first + offset, structure.questionnaire_id,
                    self.respondents[planned.respondent][0], planned.submission_id,
                    answers_digest(answers), document, Response.Channel.IMPORT, version,
                    status_for(structure.validity, reasons), False,
                    Kind.ATTENTION.value in reasons, False, Kind.STRAIGHTLINING.value in reasons,
                    True, "", planned.started_at, planned.submitted_at, duration, "",
                    planned.submitted_at, stamp,
                )
            )  # fmt: skip

    def answer_lines(self) -> Iterator[str]:
        for offset, answers in enumerate(self.answers):
            for row in answer_rows(self.structure, answers):
                yield _line((self.first + offset, *row))


def _normalised(structure: Structure, planned: PlannedResponse) -> dict[str, Any]:
    check = answers_check(structure=structure, answers=planned.answers)
    if not check.ok:
        raise ValueError(f"generated answers refused: {check.errors} ({planned.answers})")
    return check.answers


def _value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _line(values: tuple) -> str:
    return "\t".join(_value(v) for v in values) + "\n"


def _copy(conn: psycopg.Connection, model: type, columns: str, lines: Iterator[str]) -> int:
    """COPY the lines into ``model``'s table in blocks; returns how many."""
    count = 0
    block: list[str] = []
    with conn.cursor().copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for line in lines:
            block.append(line)
            count += 1
            if len(block) >= 5000:
                copy.write("".join(block))
                block.clear()
        copy.write("".join(block))
    return count


def _drop_answer_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop the answer table's non-unique indexes and give back their definitions: building
    them once after the load is much faster than maintaining them row by row."""
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'survey_answer' "
        "AND indexdef NOT LIKE 'CREATE UNIQUE%'"
    ).fetchall()
    for name, _definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]
