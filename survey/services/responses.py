"""The one way a response enters the platform: the form, the collector API, imports and the
demo generator all call ``response_submit``.

Promises:
- an accepted submission is stored whole (the response and all its answer rows) or not at all;
- a ``submission_id`` is stored at most once, whatever the races: the same id with the same
  answers gives back the first response, with different answers it is refused;
- a response is stored only against the questionnaire as it is at that moment: if an import,
  a publish or a close commits while a submission is being judged, it is judged again (this,
  not a foreign key, keeps its answer rows pointing at questions and options that exist);
- every accepted submission is kept, valid or not: validity is a mark, never a deletion;
- raw respondent identities and IP addresses never reach the database (keyed hashes only);
- a response that falls in a full quota cell is stored all the same, marked ``over_quota``
  and counted in no cell (``survey.services.quotas``; race-safe on PostgreSQL);
- an open questionnaire takes responses only within its schedule (``opens_at``, ``closes_at``)
  and at most ``response_limit`` of them: with a limit, submissions to that questionnaire are
  serialised on its row, so the limit holds whatever the races.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import sql
from django.utils import timezone
from django.utils.translation import gettext as _

from survey.models import (
    Answer,
    Questionnaire,
    QuestionnaireAccess,
    Respondent,
    Response,
    ResponseChange,
    ValidityRule,
    responses_changed,
)
from survey.services.answers import OTHER_SUFFIX, answers_check
from survey.services.identity import Identity, respondent_upsert
from survey.services.notify import new_data_signal
from survey.services.quotas import QuotaTaken, quota_take
from survey.services.validity import judging_stamp, single_response_reasons, status_for
from survey.structure import Structure, structure_for
from wenji.access import questionnaire_granted
from wenji.errors import DomainError
from wenji.hashing import ip_hash

# Clocks of phones and collector machines drift; a little future is tolerated.
CLOCK_SKEW = timedelta(minutes=5)


class SubmissionError(DomainError):
    """A submission that was refused. Nothing was stored."""

    code = "invalid_submission"


class QuestionnaireNotOpen(SubmissionError):
    # A state conflict, not a permission problem: the same collector may submit again once
    # the questionnaire reopens.
    code = "questionnaire_not_open"
    conflict = True


class AnswersInvalid(SubmissionError):
    code = "invalid_answers"


class TimingInvalid(SubmissionError):
    code = "invalid_timing"


class SubmissionConflict(SubmissionError):
    code = "submission_conflict"
    conflict = True


class QuestionnaireGone(SubmissionError):
    """The questionnaire was deleted, or no longer granted to ``granted_to``, while the
    submission was being stored. Nothing was stored; the API answers 404, as for any
    questionnaire the caller cannot access."""

    code = "not_found"


@dataclass(frozen=True)
class SubmitResult:
    response: Response
    created: bool  # False: an earlier identical submission was found and returned
    # A full cell: stored, marked over quota, counted nowhere.
    quota: QuotaTaken = field(default_factory=QuotaTaken)

    @property
    def quota_ends(self) -> bool:
        """Whether the respondent is told the questionnaire is full for people like them."""
        return self.quota.end if self.created else False


def answers_digest(answers: dict[str, Any]) -> str:
    canonical = json.dumps(answers, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def response_submit(
    *,
    questionnaire: Questionnaire,
    answers: Any,
    submission_id: uuid.UUID,
    channel: str,
    identity: Identity | None = None,
    started_at: datetime | None = None,
    submitted_at: datetime | None = None,
    ip_address: str | None = None,
    drop_hidden: bool = False,
    granted_to: AbstractBaseUser | None = None,
) -> SubmitResult:
    """Validate and store one submission; see the module docstring for the promises.

    Raises ``AnswersInvalid`` (with per-question ``fields``), ``TimingInvalid``,
    ``QuestionnaireNotOpen``, ``SubmissionConflict`` or ``QuestionnaireGone``.

    If the questionnaire changed after ``questionnaire`` was read (an import, a publish or a
    close committed meanwhile), nothing is stored by that attempt: ``questionnaire`` is read
    again and the submission judged afresh against it. With ``granted_to`` (a user) the
    response is stored only if that user is still granted the questionnaire, checked in the
    statement that stores it (so a caller may pass a questionnaire it read some time ago).
    """
    submission = {
        "answers": answers,
        "submission_id": submission_id,
        "channel": channel,
        "identity": identity,
        "started_at": started_at,
        "submitted_at": submitted_at,
        "ip_address": ip_address,
        "drop_hidden": drop_hidden,
    }
    for _attempt in range(_ATTEMPTS):
        try:
            return _submit(questionnaire, granted_to=granted_to, **submission)
        except _QuestionnaireMoved:
            try:
                questionnaire.refresh_from_db()
            except Questionnaire.DoesNotExist:
                raise QuestionnaireGone(_("This questionnaire no longer exists.")) from None
            if granted_to is not None and not questionnaire_granted(
                questionnaire=questionnaire, user=granted_to
            ):
                raise QuestionnaireGone(
                    _("This questionnaire is no longer granted to you.")
                ) from None
    raise SubmissionConflict(
        _("The questionnaire changed while this submission was being stored; send it again.")
    )


# A questionnaire changed this many times within one submission is being edited in a loop.
_ATTEMPTS = 3


class _QuestionnaireMoved(Exception):
    """The questionnaire row changed between reading it and storing a response against it
    (or, with ``granted_to``, its grant to that user is gone)."""


def _submit(
    questionnaire: Questionnaire,
    *,
    answers: Any,
    submission_id: uuid.UUID,
    channel: str,
    identity: Identity | None,
    started_at: datetime | None,
    submitted_at: datetime | None,
    ip_address: str | None,
    drop_hidden: bool,
    granted_to: AbstractBaseUser | None,
) -> SubmitResult:
    structure = structure_for(questionnaire)
    check = answers_check(structure=structure, answers=answers, drop_hidden=drop_hidden)
    digest = answers_digest(check.answers) if check.ok else ""
    now = timezone.now()
    submitted_at = submitted_at or now
    try:
        if not check.ok:
            raise AnswersInvalid(_("Some answers need attention."), check.errors)
        _check_timing(started_at=started_at, submitted_at=submitted_at, now=now)
        if questionnaire.status != Questionnaire.Status.OPEN:
            raise QuestionnaireNotOpen(_("This questionnaire is not accepting responses."))
        _check_window(questionnaire.window_at(now))
    except SubmissionError:
        # A retry of a submission stored before (say, just before the questionnaire closed)
        # still gets its original answer back.
        earlier = _earlier(submission_id, questionnaire, digest)
        if earlier is not None:
            return SubmitResult(earlier, created=False)
        raise
    reasons = single_response_reasons(structure, check.answers)
    response = Response(
        questionnaire=questionnaire,
        submission_id=submission_id,
        answers_digest=digest,
        answers=check.answers,
        channel=channel,
        definition_version=structure.definition_version,
        status_provisional=ValidityRule.Kind.SPEEDER in structure.validity,
        validity_judged=judging_stamp(structure),  # ``reasons`` judged it by these rules
        started_at=started_at,
        submitted_at=submitted_at,
        duration_seconds=(submitted_at - started_at).total_seconds() if started_at else None,
        ip_hash=ip_hash(ip_address),
    )
    # A submission that checks no limit, respondent or quota is one statement on PostgreSQL
    # (``_store``), atomic by itself: it needs no transaction of its own (BEGIN and COMMIT
    # were two of its five round trips). Inside a caller's transaction, a savepoint as ever,
    # so a duplicate id leaves that transaction usable.
    alone = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and questionnaire.response_limit is None
        and identity is None
        and not structure.quotas
    )
    try:
        with nullcontext() if alone else transaction.atomic():
            # Inside the transaction: the upsert's row lock serialises one respondent's
            # concurrent submissions, so two arriving at once cannot both count as the first.
            if questionnaire.response_limit is not None:
                _check_room(questionnaire, submission_id)
            respondent = respondent_upsert(identity=identity) if identity else None
            response.respondent = respondent
            once = structure.one_response_per == Questionnaire.OneResponsePer.RESPONDENT
            if once and respondent and _has_earlier(respondent, questionnaire, submitted_at):
                reasons.append(ValidityRule.Kind.DUPLICATE.value)
            for kind in reasons:
                setattr(response, Response.REASON_FIELDS[kind], True)
            response.status = status_for(structure.validity, reasons)
            taken = QuotaTaken()
            if structure.quotas and response.status != Response.Status.INVALID:
                taken = quota_take(structure=structure, answers=check.answers)
                response.over_quota = taken.over
            _store(questionnaire, response, answer_rows(structure, check.answers), granted_to)
            transaction.on_commit(partial(new_data_signal, questionnaire.pk))
    except IntegrityError:
        # Another request stored this submission_id first (a double tap, a browser retry).
        earlier = _earlier(submission_id, questionnaire, digest)
        if earlier is None:
            raise
        return SubmitResult(earlier, created=False)
    return SubmitResult(response, created=True, quota=taken)


def _check_window(window: str) -> None:
    if window == Questionnaire.Window.NOT_YET:
        raise QuestionnaireNotOpen(_("This questionnaire does not take responses yet."))
    if window == Questionnaire.Window.ENDED:
        raise QuestionnaireNotOpen(_("This questionnaire's time for responses has ended."))


def _check_room(questionnaire: Questionnaire, submission_id: uuid.UUID) -> None:
    """Refuse a submission beyond the limit. The row lock makes the count and the insert one
    step for every submission to this questionnaire (the transaction holds it until commit)."""
    Questionnaire.objects.select_for_update().filter(pk=questionnaire.pk).values("pk").first()
    stored = Response.objects.filter(questionnaire_id=questionnaire.pk).count()
    if questionnaire.window_at(timezone.now(), responses=stored) == Questionnaire.Window.FULL:
        if Response.objects.filter(submission_id=submission_id).exists():
            return  # a retry of one stored before: the insert's conflict gives it back
        raise QuestionnaireNotOpen(_("This questionnaire has all the responses it needs."))


def _check_timing(*, started_at: datetime | None, submitted_at: datetime, now: datetime) -> None:
    fields: dict[str, list[str]] = {}
    if submitted_at > now + CLOCK_SKEW:
        fields["submitted_at"] = [_("The submission time is in the future.")]
    if started_at is not None:
        if started_at > now + CLOCK_SKEW:
            fields["started_at"] = [_("The start time is in the future.")]
        elif started_at > submitted_at:
            fields["started_at"] = [_("The start time is after the submission time.")]
    if fields:
        raise TimingInvalid(_("The submission's times are not possible."), fields)


def _earlier(
    submission_id: uuid.UUID, questionnaire: Questionnaire, digest: str
) -> Response | None:
    """The stored response with this id, if it is the same submission; conflict otherwise."""
    earlier = Response.objects.filter(submission_id=submission_id).first()
    if earlier is None:
        return None
    if earlier.questionnaire_id != questionnaire.pk or earlier.answers_digest != digest:
        raise SubmissionConflict(
            _("This submission id was already used for different answers."),
            {"submission_id": [_("Already used for different answers.")]},
        )
    return earlier


def _has_earlier(
    respondent: Respondent, questionnaire: Questionnaire, submitted_at: datetime
) -> bool:
    return Response.objects.filter(
        questionnaire=questionnaire, respondent=respondent, submitted_at__lte=submitted_at
    ).exists()


AnswerRow = tuple[int, int | None, int | None, int | float | None, str]


def answer_rows(structure: Structure, answers: dict[str, Any]) -> list[AnswerRow]:
    """The indexed answer rows of a normalised answers object (see ``Answer``'s docstring):
    ``(question_id, item_id, option_id, number, text)``."""
    rows: list[AnswerRow] = []
    for code, value in answers.items():
        if code.endswith(OTHER_SUFFIX):
            continue
        question = structure.questions[code]
        if question.type in ("single", "multiple"):
            other = answers.get(f"{code}{OTHER_SUFFIX}", "")
            for chosen in value if isinstance(value, list) else [value]:
                option = question.options[str(chosen)]
                rows.append((question.id, None, option.id, None, other if option.is_other else ""))
        elif question.type == "matrix":
            for item_code, scale in value.items():
                item_id = question.items[item_code].id
                rows.append((question.id, item_id, question.options[str(scale)].id, None, ""))
        elif question.type == "number_grid":
            for item_code, number in value.items():
                rows.append((question.id, question.items[item_code].id, None, number, ""))
        elif question.type == "number":
            rows.append((question.id, None, None, value, ""))
        else:
            rows.append((question.id, None, None, None, value))
    return rows


def _store(
    questionnaire: Questionnaire,
    response: Response,
    rows: list[AnswerRow],
    granted_to: AbstractBaseUser | None = None,
) -> None:
    """Write a new response, its answer rows and its change record (for the live results).
    The submit path's hottest write; the constraints apply as to any insert.

    Writes nothing and raises ``_QuestionnaireMoved`` unless the questionnaire row is still
    as ``questionnaire`` read it (its ``definition_version`` and ``updated_at``, the key of the
    structure that validated the answers): an import that replaced the definition meanwhile
    (it holds the row ``FOR UPDATE``) may have removed an option these rows point at, and
    the answer rows' links to the definition have no database constraint to refuse them.
    With ``granted_to``, likewise unless that user's grant of the questionnaire exists.

    On PostgreSQL one statement: the response's INSERT with the answer rows and the change
    record inserted in data-modifying CTEs from its ``RETURNING`` id, so a submission costs
    one round trip where it cost three (and, alone, five). The INSERT's text is the ORM's,
    compiled once; its values are prepared by each field as ``Model.save`` prepares them. The
    answer rows go as one JSON array parameter (``jsonb_array_elements``): one C-encoded
    string, where five arrays were dumped value by value in Python. Elsewhere three
    statements, in the caller's transaction."""
    if connection.vendor != "postgresql":
        # The same check as a query of its own (SQLite, a laptop's: one writer at a time).
        unchanged = Questionnaire.objects.filter(
            pk=questionnaire.pk,
            definition_version=questionnaire.definition_version,
            updated_at=questionnaire.updated_at,
        )
        if granted_to is not None:
            unchanged = unchanged.filter(access_grants__user_id=granted_to.pk)
        if not unchanged.exists():
            raise _QuestionnaireMoved
        response.save(force_insert=True)
        _insert_answers_values(response.pk, rows)
        responses_changed(response.questionnaire_id, [response.pk])
        return
    statement, fields = _store_statement(granted_to is not None)
    params = [f.get_db_prep_save(f.pre_save(response, True), connection) for f in fields]
    answers = json.dumps(
        [
            [question, item, option, None if number is None else str(_decimal(number)), text]
            for question, item, option, number, text in rows
        ],
        ensure_ascii=False,
    )
    guard = [questionnaire.pk, questionnaire.definition_version, questionnaire.updated_at]
    if granted_to is not None:
        guard.append(granted_to.pk)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*guard, *params, answers, response.questionnaire_id])
        row = cursor.fetchone()
    if row is None:
        raise _QuestionnaireMoved
    response.pk = row[0]
    response._state.adding = False
    response._state.db = connection.alias


@functools.cache
def _store_statement(granted: bool) -> tuple[str, list[Any]]:
    """The statement of ``_store`` on PostgreSQL and the response fields of its parameters;
    ``granted``: with the check of a user's grant."""
    meta = Response._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = sql.InsertQuery(Response)
    query.insert_values(fields, [Response()])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.pk]
    [(insert, params)] = compiler.as_sql()
    if len(params) != len(fields) or insert.count("%s") != len(fields):
        raise AssertionError("the response INSERT does not take one parameter per field")
    # INSERT … VALUES (…) RETURNING … becomes INSERT … SELECT … FROM g RETURNING …: the
    # response is written only if the guard ``g`` found the questionnaire row unchanged.
    head, values_and_rest = insert.split(" VALUES (", 1)
    values, rest = values_and_rest.split(") RETURNING ", 1)
    if values != ", ".join(["%s"] * len(fields)):
        raise AssertionError("unexpected VALUES in the response INSERT")
    insert = f"{head} SELECT {values} FROM g RETURNING {rest}"
    quote = connection.ops.quote_name
    questionnaires = quote(Questionnaire._meta.db_table)
    grant = (
        f"AND EXISTS (SELECT 1 FROM {quote(QuestionnaireAccess._meta.db_table)} "
        f"WHERE questionnaire_id = {questionnaires}.id AND user_id = %s)"
        if granted
        else ""
    )
    # Each answer row is [question, item, option, number, text]; the number as a string, so
    # it reaches NUMERIC exactly as written.
    statement = (
        # The guard: the questionnaire row as the submission was validated against it (the
        # key of its cached structure), under a share lock that an import's FOR UPDATE waits
        # for, and that waits for an import holding it. After such a wait PostgreSQL reads
        # the row again as the import left it, so a changed definition finds no row here.
        f"WITH g AS (SELECT id FROM {questionnaires} WHERE id = %s AND definition_version = %s "
        f"AND updated_at = %s {grant} FOR KEY SHARE), "
        f"r AS ({insert}), "
        f"a AS (INSERT INTO {quote(Answer._meta.db_table)} {ANSWER_COLUMNS} "
        "SELECT r.id, (v->>0)::bigint, (v->>1)::bigint, (v->>2)::bigint, (v->>3)::numeric, "
        "v->>4 FROM r, jsonb_array_elements(%s::jsonb) AS v), "
        f"c AS (INSERT INTO {quote(ResponseChange._meta.db_table)} (questionnaire_id, "
        "response_id) SELECT %s, r.id FROM r) "
        "SELECT r.id FROM r"
    )
    return statement, fields


ANSWER_COLUMNS = "(response_id, question_id, item_id, option_id, number, text)"


def _insert_answers_values(response_id: int, rows: list[AnswerRow]) -> None:
    """The answer rows as one INSERT … VALUES (off PostgreSQL)."""
    if not rows:
        return
    table = connection.ops.quote_name(Answer._meta.db_table)
    sql_text = f"INSERT INTO {table} {ANSWER_COLUMNS} VALUES " + ", ".join(
        ["(%s, %s, %s, %s, %s, %s)"] * len(rows)
    )
    params: list[Any] = []
    for question_id, item_id, option_id, number, text in rows:
        params += [response_id, question_id, item_id, option_id, _decimal(number), text]
    with connection.cursor() as cursor:
        cursor.execute(sql_text, params)


def _decimal(number: int | float | None) -> Decimal | None:
    # Stored as NUMERIC(20, 6); validation already limited digits and places.
    return None if number is None else Decimal(str(number))
