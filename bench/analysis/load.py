"""Bulk-load responses of a questionnaire into PostgreSQL with COPY (for the benchmark).

Answers follow the questionnaire's structure (types, show_if, required, choice limits,
exclusive options, ranges) with seeded, realistic shapes: skewed option shares, matrices that
lean to the favourable end, engaged and disengaged respondents (so segments have members),
a few failed attention checks, straight-liners, speeders and repeat respondents. Nothing goes
through ``response_submit``: this is about the analysis, not ingestion, and a million
submissions through the service would take hours. ``Response.answers`` is stored as ``{}``
(the analysis reads the answer rows, never that copy).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from survey.expressions import evaluate
from survey.structure import QuestionDef, Structure

TABLE = 256  # each categorical choice is a lookup in a table of this many pre-drawn values
BATCH = 5000
ANSWER_INDEXES = {
    "answer_response_question": "(response_id, question_id)",
    "answer_question_option": "(question_id, option_id)",
}


@dataclass
class Profile:
    """Pre-drawn choice tables per question (and item), so a response costs a few lookups."""

    singles: dict[str, list[int]]
    items: dict[tuple[str, str], list[int]]
    chances: dict[str, list[tuple[int, float]]]


def _table(ids: list[int], weights: list[float], rng: random.Random) -> list[int]:
    return rng.choices(ids, weights=weights, k=TABLE)


def build_profile(structure: Structure, rng: random.Random) -> Profile:
    singles: dict[str, list[int]] = {}
    items: dict[tuple[str, str], list[int]] = {}
    chances: dict[str, list[tuple[int, float]]] = {}
    for q in structure.questions.values():
        ids = [o.id for o in q.options.values()]
        if q.type == "single":
            singles[q.code] = _table(ids, [rng.gammavariate(1.2, 1) for _ in ids], rng)
        elif q.type == "matrix":
            # Scale points in order; favourable answers more likely, item by item a little.
            for item in q.items:
                lean = [(i + 1) ** rng.uniform(0.8, 1.6) for i in range(len(ids))]
                favourable = _favourable_first(q, lean)
                items[(q.code, item)] = _table(ids, favourable, rng)
        elif q.type == "multiple":
            chances[q.code] = [
                (o.id, 0.03 if o.exclusive else rng.uniform(0.1, 0.6)) for o in q.options.values()
            ]
    return Profile(singles, items, chances)


def _favourable_first(q: QuestionDef, lean: list[float]) -> list[float]:
    """Weights aligned so the highest-scored scale point gets the largest weight."""
    scores = [float(o.score or 0) for o in q.options.values()]
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    weights = [0.0] * len(scores)
    for rank, index in enumerate(order):
        weights[index] = sorted(lean)[rank]
    return weights


class Generator:
    """Answer rows (and the answers, for show_if) of one response at a time."""

    def __init__(self, structure: Structure, seed: int) -> None:
        self.structure = structure
        self.rng = random.Random(seed)
        self.profile = build_profile(structure, random.Random(seed + 1))
        self.by_id = {o.id: o for q in structure.questions.values() for o in q.options.values()}

    def rows(self) -> list[tuple]:
        """(question_id, item_id, option_id, number, text) rows of one response."""
        rng, rows, answers = self.rng, [], {}
        engagement = rng.choices((0.35, 2.0, 6.0), weights=(10, 65, 25))[0]
        straightliner = rng.random() < 0.03
        for q in self.structure.questions.values():
            if q.show_if is not None and not evaluate(q.show_if, answers):
                continue
            if not q.required and rng.random() < 0.3:
                continue
            self._question(q, rows, answers, engagement, straightliner)
        return rows

    def _question(
        self,
        q: QuestionDef,
        rows: list[tuple],
        answers: dict[str, Any],
        engagement: float,
        straightliner: bool,
    ) -> None:
        rng = self.rng
        if q.type == "single":
            option = self._single(q)
            rows.append((q.id, None, option, None, ""))
            answers[q.code] = self.by_id[option].value
        elif q.type == "matrix":
            cells = self._matrix(q, straightliner)
            rows += [(q.id, q.items[item].id, option, None, "") for item, option in cells]
            answers[q.code] = {item: self.by_id[option].value for item, option in cells}
        elif q.type == "multiple":
            chosen = self._multiple(q)
            rows += [(q.id, None, option, None, "") for option in chosen]
            answers[q.code] = [self.by_id[option].value for option in chosen]
        elif q.type in ("number", "number_grid"):
            values = {item: self._number(q, engagement) for item in (q.items or [""])}
            rows += [(q.id, q.items[i].id if i else None, None, v, "") for i, v in values.items()]
            answers[q.code] = values if q.items else values[""]
        elif rng.random() < 0.5:  # text
            rows.append((q.id, None, None, None, "线上线下相结合，注重实效"))
            answers[q.code] = "text"

    def _single(self, q: QuestionDef) -> int:
        if q.attention_expect and self.rng.random() < 0.96:
            return q.options[q.attention_expect].id
        return self.profile.singles[q.code][int(self.rng.random() * TABLE)]

    def _matrix(self, q: QuestionDef, straightliner: bool) -> list[tuple[str, int]]:
        rng = self.rng
        if straightliner and q.straightlining_check:
            option = self.profile.items[(q.code, next(iter(q.items)))][int(rng.random() * TABLE)]
            return [(item, option) for item in q.items]
        return [
            (item, self.profile.items[(q.code, item)][int(rng.random() * TABLE)])
            for item in q.items
        ]

    def _multiple(self, q: QuestionDef) -> list[int]:
        rng = self.rng
        chances = self.profile.chances[q.code]
        exclusive = [o for o, _p in chances if self.by_id[o].exclusive]
        if exclusive and rng.random() < 0.03:
            return [rng.choice(exclusive)]
        chosen = [o for o, p in chances if not self.by_id[o].exclusive and rng.random() < p]
        if not chosen:
            chosen = [max((p, o) for o, p in chances if not self.by_id[o].exclusive)[1]]
        if q.max_choices and len(chosen) > q.max_choices:
            chosen = sorted(rng.sample(chosen, q.max_choices))
        return chosen

    def _number(self, q: QuestionDef, engagement: float) -> int:
        value = int(self.rng.expovariate(1 / engagement))
        low = int(q.min_value) if q.min_value is not None else 0
        high = int(q.max_value) if q.max_value is not None else 10**6
        return max(low, min(high, value))


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _line(values: tuple) -> str:
    return "\t".join(_copy_value(v) for v in values) + "\n"


@dataclass(frozen=True)
class Timing:
    started: datetime | None
    submitted: datetime
    duration: float | None


def _timing(rng: random.Random, start: datetime) -> Timing:
    submitted = start + timedelta(seconds=rng.uniform(0, 30 * 86400))
    roll = rng.random()
    if roll < 0.03:
        return Timing(None, submitted, None)
    seconds = rng.uniform(20, 90) if roll < 0.07 else rng.lognormvariate(6.0, 0.4)
    return Timing(submitted - timedelta(seconds=seconds), submitted, seconds)


def _responses(questionnaire_id: int, n: int, first_id: int, seed: int) -> Iterator[str]:
    """Respondent lines are yielded first (prefixed "R"), then response lines."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    respondents: list[int] = []
    for index in range(n):
        response_id = first_id + index
        if respondents and rng.random() < 0.01:
            respondent = rng.choice(respondents)
        else:
            respondent = response_id  # one new respondent per response, same id
            respondents.append(respondent)
            digest = hashlib.sha256(f"bench-{seed}-{respondent}".encode()).hexdigest()
            yield "R" + _line((respondent, "device", digest, start))
        timing = _timing(rng, start)
        yield _line(
            (
                response_id, questionnaire_id, respondent, uuid.UUID(int=rng.getrandbits(128)),
                "0" * 64, "{}", "web", 1, "valid", "f", "f", "f", "f", "t", "",
                timing.started, timing.submitted, timing.duration, "", timing.submitted,
            )
        )  # fmt: skip


RESPONSE_COLUMNS = (
    "id, questionnaire_id, respondent_id, submission_id, answers_digest, answers, channel, "
    "definition_version, status, speeder, attention_failed, duplicate, straightlined, "
    "status_provisional, manual_status, started_at, submitted_at, duration_seconds, ip_hash, "
    "received_at"
)


def bulk_load(dsn: str, structure: Structure, n: int, seed: int = 1) -> int:
    """Load ``n`` responses and their answer rows; returns the number of answer rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers during COPY
        first_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM survey_response").fetchone()[
            0
        ]
        _copy_responses(conn, structure.questionnaire_id, n, first_id, seed)
        for name in ANSWER_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        answers = _copy_answers(conn, structure, n, first_id, seed)
        for name, columns in ANSWER_INDEXES.items():
            conn.execute(f"CREATE INDEX {name} ON survey_answer {columns}")
        for table in ("survey_response", "survey_respondent"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        conn.execute("VACUUM ANALYZE survey_respondent, survey_response, survey_answer")
    return answers


def _copy_responses(
    conn: psycopg.Connection, questionnaire_id: int, n: int, first: int, seed: int
) -> None:
    """Two passes over the same seeded lines: respondents, then responses (memory stays flat)."""
    columns = "id, kind, identity_hash, created_at"
    with conn.cursor().copy(f"COPY survey_respondent ({columns}) FROM STDIN") as copy:
        _write(
            copy,
            (line[1:] for line in _responses(questionnaire_id, n, first, seed) if line[0] == "R"),
        )
    with conn.cursor().copy(f"COPY survey_response ({RESPONSE_COLUMNS}) FROM STDIN") as copy:
        _write(
            copy, (line for line in _responses(questionnaire_id, n, first, seed) if line[0] != "R")
        )


def _write(copy: psycopg.Copy, lines: Iterator[str]) -> None:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH:
            copy.write("".join(batch))
            batch.clear()
    copy.write("".join(batch))


def _copy_answers(
    conn: psycopg.Connection, structure: Structure, n: int, first: int, seed: int
) -> int:
    generator = Generator(structure, seed)
    total = 0
    columns = "response_id, question_id, item_id, option_id, number, text"
    with conn.cursor().copy(f"COPY survey_answer ({columns}) FROM STDIN") as copy:
        for start in range(0, n, BATCH):
            chunk = []
            for response_id in range(first + start, first + min(n, start + BATCH)):
                for row in generator.rows():
                    chunk.append(_line((response_id, *row)))
            total += len(chunk)
            copy.write("".join(chunk))
    return total
