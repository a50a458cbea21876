"""Quotas: how many valid responses each cell of single-choice answers takes (the definition's
``quotas``, judged by ``survey.quotas_checks``).

Promises:
- ``quotas_store`` makes the rows say what a valid definition says, matching quotas by code
  and cells by their options; a kept cell keeps its count, a new one is counted from the
  responses stored, so a target can be raised or lowered while collecting.
- ``quota_take`` is called by ``response_submit`` inside the insert's transaction. It counts
  the response in every cell it falls in, by one conditional UPDATE per cell
  (``filled < target``, in cell-id order): on PostgreSQL the row lock makes two submissions
  racing for the last place count exactly one. If any of its cells is full, none counts it
  (the places it took are given back) and it is marked ``over_quota``; the response is stored
  either way. Invalid responses are not counted.
- ``quotas_recount`` sets every cell's count from the responses (valid or flagged, not over
  quota), in one grouped query per quota: called when validity changes (a run, a review).
- ``quota_progress`` is each quota's cells with their option labels, count and target, for the
  studio and the results page: two queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F

from survey.labels import label_text
from survey.models import Option, Question, Questionnaire, Quota, QuotaCell, Response
from survey.quotas_checks import cell_key
from survey.selectors_responses import answer_combinations
from survey.structure import Structure


def quotas_store(*, questionnaire: Questionnaire, quotas: list[dict[str, Any]] | None) -> None:
    """Make ``questionnaire``'s quota rows say what the (valid) ``quotas`` says."""
    existing = {q.code: q for q in Quota.objects.filter(questionnaire=questionnaire)}
    recount = []
    for position, entry in enumerate(quotas or []):
        of = list(entry["of"])
        fields = {
            "label": entry.get("label", ""),
            "of": of,
            "when_full": entry.get("when_full", Quota.WhenFull.END),
            "position": position,
        }
        quota = existing.pop(entry["code"], None)
        if quota is None:
            quota = Quota.objects.create(questionnaire=questionnaire, code=entry["code"], **fields)
        else:
            if quota.of != of:
                QuotaCell.objects.filter(quota=quota).delete()  # other questions: other cells
            changed = [name for name, value in fields.items() if getattr(quota, name) != value]
            for name in changed:
                setattr(quota, name, fields[name])
            if changed:
                quota.save(update_fields=changed)
        cells = {c.key: c for c in QuotaCell.objects.filter(quota=quota)}
        new = []
        for index, cell in enumerate(entry["cells"]):
            key = cell_key(of, cell["when"])
            row = cells.pop(key, None)
            if row is None:
                new.append(
                    QuotaCell(
                        quota=quota,
                        key=key,
                        when=cell["when"],
                        target=cell["target"],
                        position=index,
                    )
                )
            elif (row.target, row.position, row.when) != (cell["target"], index, cell["when"]):
                row.target, row.position, row.when = cell["target"], index, cell["when"]
                row.save(update_fields=["target", "position", "when"])
        QuotaCell.objects.filter(pk__in=[c.pk for c in cells.values()]).delete()
        if new:
            QuotaCell.objects.bulk_create(new)
            recount.append(quota)
    Quota.objects.filter(pk__in=[q.pk for q in existing.values()]).delete()
    for quota in recount:
        _recount(quota)


def quotas_export(*, questionnaire: Questionnaire) -> list[dict[str, Any]] | None:
    """The definition's ``quotas`` as stored (None without quotas). Two queries."""
    quotas = list(Quota.objects.filter(questionnaire=questionnaire).prefetch_related("cells"))
    if not quotas:
        return None
    exported = []
    for quota in quotas:
        entry: dict[str, Any] = {"code": quota.code}
        if quota.label:
            entry["label"] = quota.label
        entry["of"] = list(quota.of)
        if quota.when_full != Quota.WhenFull.END:
            entry["when_full"] = quota.when_full
        entry["cells"] = [{"when": c.when, "target": c.target} for c in quota.cells.all()]
        exported.append(entry)
    return exported


# --- at submit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaTaken:
    """What the quotas made of one submission: ``full`` names the quotas whose cell was full
    (empty: counted, or in no cell); ``end`` is whether one of them ends the questionnaire."""

    full: tuple[str, ...] = ()
    end: bool = False

    @property
    def over(self) -> bool:
        return bool(self.full)


def quota_take(*, structure: Structure, answers: dict[str, Any]) -> QuotaTaken:
    """Count a valid submission in its cells (inside the insert's transaction)."""
    wanted = []
    for quota in structure.quotas:
        if any(answers.get(code) is None for code in quota.of):
            continue  # not asked or not answered: in no cell of this quota
        cell = quota.cells.get(cell_key(list(quota.of), answers))
        if cell is not None:
            wanted.append((cell, quota))
    taken, full = [], []
    for cell, quota in sorted(wanted, key=lambda pair: pair[0]):
        room = QuotaCell.objects.filter(pk=cell, filled__lt=F("target"))
        if room.update(filled=F("filled") + 1):
            taken.append(cell)
        else:
            full.append(quota)
    if not full:
        return QuotaTaken()
    if taken:  # over quota somewhere: counted nowhere
        QuotaCell.objects.filter(pk__in=taken).update(filled=F("filled") - 1)
    return QuotaTaken(
        full=tuple(q.code for q in full),
        end=any(q.when_full == Quota.WhenFull.END for q in full),
    )


def quota_full_cells(*, questionnaire: Questionnaire) -> list[dict[str, str]]:
    """The full cells of quotas that end the questionnaire, as {question: option code}: the
    form's script ends early for a respondent in one. One query."""
    cells = QuotaCell.objects.filter(
        quota__questionnaire=questionnaire,
        quota__when_full=Quota.WhenFull.END,
        filled__gte=F("target"),
    ).values_list("when", flat=True)
    return [{code: str(option) for code, option in when.items()} for when in cells]


# --- counting again -----------------------------------------------------------------------------


def _counted(questionnaire_id: int):
    return Response.objects.filter(questionnaire_id=questionnaire_id, over_quota=False).exclude(
        status=Response.Status.INVALID
    )


def _recount(quota: Quota) -> None:
    with transaction.atomic():
        # Lock the cells first: a submission counting itself meanwhile waits, and one that
        # committed before is in the count (each statement reads what is committed).
        cells = list(QuotaCell.objects.select_for_update().filter(quota=quota).order_by("pk"))
        counts = _counts(quota)
        for cell in cells:
            filled = counts.get(cell.key, 0)
            if cell.filled != filled:
                QuotaCell.objects.filter(pk=cell.pk).update(filled=filled)


def _counts(quota: Quota) -> dict[str, int]:
    combinations = answer_combinations(_counted(quota.questionnaire_id), list(quota.of))
    return {"|".join(values): n for values, n in combinations.items() if None not in values}


def quotas_recount(*, questionnaire: Questionnaire | int) -> None:
    """Set every cell's count from the responses counted now (validity changed)."""
    pk = questionnaire if isinstance(questionnaire, int) else questionnaire.pk
    for quota in Quota.objects.filter(questionnaire_id=pk):
        _recount(quota)


# --- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellProgress:
    label: str
    filled: int
    target: int

    @property
    def full(self) -> bool:
        return self.filled >= self.target

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.filled / self.target))


@dataclass(frozen=True)
class QuotaProgress:
    code: str
    label: str
    of: list[str]
    when_full: str
    cells: list[CellProgress]

    @property
    def filled(self) -> int:
        return sum(c.filled for c in self.cells)

    @property
    def target(self) -> int:
        return sum(c.target for c in self.cells)


def quota_progress(
    *, questionnaire: Questionnaire, language: str | None = None
) -> list[QuotaProgress]:
    """Each quota's cells, named by their options' labels, with count and target."""
    quotas = list(Quota.objects.filter(questionnaire=questionnaire).prefetch_related("cells"))
    if not quotas:
        return []
    codes = {code for quota in quotas for code in quota.of}
    labels = {
        (question, option): label
        for question, option, label in Option.objects.filter(
            question__questionnaire=questionnaire, question__code__in=codes
        ).values_list("question__code", "code", "label")
    }
    names = dict(
        Question.objects.filter(questionnaire=questionnaire, code__in=codes).values_list(
            "code", "label"
        )
    )
    progress = []
    for quota in quotas:
        cells = []
        for cell in quota.cells.all():
            parts = [
                label_text(labels.get((code, str(cell.when[code]))), language)
                or str(cell.when[code])
                for code in quota.of
            ]
            cells.append(CellProgress(" × ".join(parts), cell.filled, cell.target))
        label = label_text(quota.label, language) or " × ".join(
            label_text(names.get(code), language) or code for code in quota.of
        )
        progress.append(QuotaProgress(quota.code, label, list(quota.of), quota.when_full, cells))
    return progress
