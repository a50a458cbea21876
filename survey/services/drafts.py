"""Drafts and publishing: the next version of a definition is edited apart from the one in
force, then published whole.

Promises:
- ``definition_draft_get`` gives the draft when there is one, else the definition in force,
  with an ``etag`` that changes whenever either changes.
- ``definition_draft_save`` validates the whole document first (``DefinitionInvalid`` lists
  every problem with its code, path, value and message; nothing is stored), then stores it as
  the next revision only if ``if_match`` is the current etag (``DraftChanged`` otherwise). The
  questionnaire's row is locked while it compares, so of two saves made from the same etag
  exactly one is stored.
- ``definition_draft_diff`` lists what publishing would change (``definition_diff``, in force
  → draft), each structural change with the answers it touches.
- ``definition_publish`` refuses a draft whose base (the definition in force when it was
  made) has changed since (``BaseChanged``: publishing would undo that change; discard the
  draft with ``definition_draft_discard`` and make it again). Otherwise it applies the draft
  as the next definition version through ``questionnaire_import`` in one transaction and
  deletes it. While the questionnaire has
  responses a structural change (an answered question or option removed, a type changed) is
  refused with the number of answers it would orphan, and the draft is kept. Responses keep
  the ``definition_version`` they were answered under.
- ``questionnaire_create`` makes a new questionnaire (a draft, not yet open) from a document.
- Every save pushes the document it replaces on the draft's undo stack (the newest
  ``UNDO_DEPTH`` steps are kept); ``definition_draft_undo`` pops the newest back as the next
  revision (the etag never repeats, so an editor holding an older page still gets a
  conflict), and when that is the definition in force, the draft goes. Publishing and
  discarding empty the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from survey.interchange import DefinitionError
from survey.interchange_checks import definition_problems
from survey.interchange_problems import Problem
from survey.models import DefinitionDraft, DefinitionUndo, Questionnaire
from survey.services.definitions import Change, definition_diff, document_hash
from survey.services.questionnaires import (
    answers_touched,
    change_sentence,
    questionnaire_export,
    questionnaire_import,
    questionnaire_structure_lock_reason,
)
from wenji.errors import DomainError


class DefinitionInvalid(DomainError):
    """A document that cannot be stored or published; ``problems`` says why, each in full."""

    code = "invalid_definition"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        problems = problems or []
        fields: dict[str, list[str]] = {}
        for problem in problems:
            fields.setdefault(problem.path, []).append(problem.message)
        super().__init__(message, fields)
        self.problems = problems


class DefinitionConflict(DefinitionInvalid):
    """Refused because of what is stored (answers, a taken slug), not the document itself."""

    code = "definition_conflict"
    conflict = True


class DraftChanged(DomainError):
    """Someone saved or published since this editor read the draft (``if_match`` is stale)."""

    code = "edit_conflict"
    conflict = True


class BaseChanged(DomainError):
    """The definition in force moved after the draft was made (say, an edit in the admin)."""

    code = "base_changed"
    conflict = True


class NothingToPublish(DomainError):
    code = "no_draft"
    conflict = True


class NothingToUndo(DomainError):
    code = "nothing_to_undo"
    conflict = True


UNDO_DEPTH = 20


@dataclass(frozen=True)
class DraftState:
    document: dict[str, Any]
    etag: str
    drafted: bool  # False: no draft, this is the definition in force
    revision: int
    based_on_version: int


def definition_draft_get(*, questionnaire: Questionnaire) -> DraftState:
    draft = DefinitionDraft.objects.filter(questionnaire=questionnaire).first()
    if draft is not None:
        return _draft_state(draft)
    document = questionnaire_export(questionnaire=questionnaire)
    return DraftState(
        document=document,
        etag=_published_etag(document),
        drafted=False,
        revision=0,
        based_on_version=questionnaire.definition_version,
    )


def definition_draft_save(
    *,
    questionnaire: Questionnaire,
    document: Any,
    if_match: str,
    user: AbstractBaseUser | None,
) -> DraftState:
    """Store ``document`` as the next revision of the draft; see the module's promises."""
    _check_document(questionnaire, document)
    with transaction.atomic():
        locked, current = _locked_if_match(questionnaire, if_match)
        _undo_push(locked, current.document)
        draft, created = DefinitionDraft.objects.get_or_create(
            questionnaire=locked,
            defaults={
                "document": document,
                "based_on_version": locked.definition_version,
                "based_on": current.etag,  # no draft yet: the etag of the definition in force
                "updated_by": user,
            },
        )
        if not created:
            draft.document = document
            draft.revision += 1
            draft.updated_by = user
            draft.save(update_fields=["document", "revision", "updated_by", "updated_at"])
    return _draft_state(draft)


def definition_draft_undo(
    *, questionnaire: Questionnaire, if_match: str, user: AbstractBaseUser | None
) -> DraftState:
    """Put back the document the newest save replaced; see the module's promises."""
    with transaction.atomic():
        locked, _current = _locked_if_match(questionnaire, if_match)
        step = DefinitionUndo.objects.filter(questionnaire=locked).order_by("-id").first()
        draft = DefinitionDraft.objects.filter(questionnaire=locked).first()
        if step is None or draft is None:
            raise NothingToUndo(_("There is nothing to undo."))
        step.delete()
        in_force = questionnaire_export(questionnaire=locked)
        if document_hash(step.document) == document_hash(in_force):
            draft.delete()  # back to the definition in force: nothing left to undo
            DefinitionUndo.objects.filter(questionnaire=locked).delete()
            return definition_draft_get(questionnaire=locked)
        draft.document = step.document
        draft.revision += 1
        draft.updated_by = user
        draft.save(update_fields=["document", "revision", "updated_by", "updated_at"])
    return _draft_state(draft)


def _locked_if_match(
    questionnaire: Questionnaire, if_match: str
) -> tuple[Questionnaire, DraftState]:
    """The questionnaire's row, locked until the transaction ends, and its draft (or the
    definition in force); ``DraftChanged`` unless ``if_match`` is that state's etag."""
    locked = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
    current = definition_draft_get(questionnaire=locked)
    if if_match != current.etag:
        raise DraftChanged(
            _("The definition was changed since you opened it; reload it and edit again.")
        )
    return locked, current


def definition_undo_depth(*, questionnaire: Questionnaire) -> int:
    """How many saves of the draft can be undone."""
    return DefinitionUndo.objects.filter(questionnaire=questionnaire).count()


def _undo_push(questionnaire: Questionnaire, document: dict[str, Any]) -> None:
    DefinitionUndo.objects.create(questionnaire=questionnaire, document=document)
    stale = (
        DefinitionUndo.objects.filter(questionnaire=questionnaire)
        .order_by("-id")
        .values_list("id", flat=True)[UNDO_DEPTH:]
    )
    DefinitionUndo.objects.filter(id__in=list(stale)).delete()


def definition_draft_diff(*, questionnaire: Questionnaire) -> list[dict[str, Any]]:
    """What publishing the draft would change, each change as data with ``answers``: how many
    stored answers a structural change touches (None for the others)."""
    in_force = questionnaire_export(questionnaire=questionnaire)
    draft = DefinitionDraft.objects.filter(questionnaire=questionnaire).first()
    changes = definition_diff(in_force, draft.document if draft else in_force)
    touched = answers_touched(questionnaire, changes)
    return [
        {**change.as_dict(), "answers": touched.get(id(change)) if change.structural else None}
        for change in changes
    ]


def definition_publish(*, questionnaire: Questionnaire) -> Questionnaire:
    """Apply the draft as the next definition version; see the module's promises."""
    with transaction.atomic():
        locked = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
        draft = DefinitionDraft.objects.filter(questionnaire=locked).first()
        if draft is None:
            raise NothingToPublish(_("There is no draft to publish."))
        in_force = questionnaire_export(questionnaire=locked)
        if draft.based_on and draft.based_on != _published_etag(in_force):
            raise BaseChanged(
                _(
                    "The definition in force was changed after this draft was made; publishing "
                    "would undo that change. Discard the draft and make it again from the "
                    "definition in force."
                )
            )
        if locked.has_responses:
            _refuse_orphaning(locked, in_force, draft.document)
        try:
            published = questionnaire_import(definition=draft.document, replace=True)
        except DefinitionError as error:
            raise DefinitionConflict(
                _("The draft cannot be published."),
                [Problem("definition_conflict", "definition", p) for p in error.problems],
            ) from error
        draft.delete()
        DefinitionUndo.objects.filter(questionnaire=locked).delete()
    return published


def definition_draft_discard(*, questionnaire: Questionnaire) -> bool:
    """Delete the draft; whether there was one. The definition in force is untouched."""
    deleted, _by_model = DefinitionDraft.objects.filter(questionnaire=questionnaire).delete()
    DefinitionUndo.objects.filter(questionnaire=questionnaire).delete()
    return bool(deleted)


def questionnaire_create(*, document: Any) -> Questionnaire:
    """A new questionnaire from a valid document; a draft until it is opened."""
    problems = definition_problems(document)
    if problems:
        raise DefinitionInvalid(_("The definition needs attention."), problems)
    if Questionnaire.objects.filter(slug=document["slug"]).exists():
        message = _("a questionnaire %(slug)s already exists") % {"slug": document["slug"]}
        problem = Problem("slug_taken", "slug", message, document["slug"])
        raise DefinitionConflict(message, [problem])
    try:
        return questionnaire_import(definition=document)
    except DefinitionError as error:  # the same slug, created a moment ago by someone else
        message = str(error.problems[0])
        raise DefinitionConflict(message, [Problem("slug_taken", "slug", message)]) from error


# --- helpers ----------------------------------------------------------------------------------


def _check_document(questionnaire: Questionnaire, document: Any) -> None:
    problems = definition_problems(document)
    if not problems and document.get("slug") != questionnaire.slug:
        message = _("the slug is %(slug)s here; a draft cannot rename its questionnaire") % {
            "slug": questionnaire.slug
        }
        problems = [Problem("slug_changed", "slug", message, document.get("slug"))]
    if problems:
        raise DefinitionInvalid(_("The definition needs attention."), problems)


def _published_etag(document: dict[str, Any]) -> str:
    return f'"p-{document_hash(document)[:16]}"'


def _draft_state(draft: DefinitionDraft) -> DraftState:
    return DraftState(
        document=draft.document,
        etag=f'"d{draft.pk}-r{draft.revision}"',
        drafted=True,
        revision=draft.revision,
        based_on_version=draft.based_on_version,
    )


def _refuse_orphaning(
    questionnaire: Questionnaire, in_force: dict[str, Any], document: dict[str, Any]
) -> None:
    changes = definition_diff(in_force, document)
    structural = [c for c in changes if c.structural]
    if not structural:
        return
    touched = answers_touched(questionnaire, structural)
    problems = []
    for change in structural:
        count = touched.get(id(change), 0)
        message = change_sentence(change, count)
        problems.append(Problem("structural_change", _change_path(change), message, count or None))
    reason = questionnaire_structure_lock_reason(questionnaire=questionnaire)
    raise DefinitionConflict(reason or _("The draft cannot be published."), problems)


def _change_path(change: Change) -> str:
    if change.code is None:
        return f"questions.{change.question}"
    return f"questions.{change.question}.{change.what}s.{change.code}"
