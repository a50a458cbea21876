"""Keep ``Questionnaire.updated_at`` current when any part of its definition changes.

This is cache invalidation, not a workflow: ``survey.structure`` caches a questionnaire's
compiled definition by ``updated_at``, and edits arrive from several places (definition
imports, admin pages, spreadsheet imports). Touching the timestamp here means none of them
can forget to.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

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

_DIRECT = (Section, Question, DerivedScore, Segment, ValidityRule)
_VIA_QUESTION = (Option, Item)


def _touch(questionnaire_id: int | None) -> None:
    if questionnaire_id is not None:
        Questionnaire.objects.filter(pk=questionnaire_id).update(updated_at=timezone.now())


def _direct_changed(sender: type, instance: object, raw: bool = False, **kwargs: object) -> None:
    if not raw:  # loaddata fixtures touch nothing
        _touch(instance.questionnaire_id)


def _via_question_changed(
    sender: type, instance: object, raw: bool = False, **kwargs: object
) -> None:
    if not raw:
        _touch(
            Question.objects.filter(pk=instance.question_id)
            .values_list("questionnaire_id", flat=True)
            .first()
        )


for _model in _DIRECT:
    post_save.connect(_direct_changed, sender=_model, dispatch_uid=f"touch-{_model.__name__}")
    post_delete.connect(_direct_changed, sender=_model, dispatch_uid=f"touch-d-{_model.__name__}")
for _model in _VIA_QUESTION:
    post_save.connect(_via_question_changed, sender=_model, dispatch_uid=f"touch-{_model.__name__}")
    post_delete.connect(
        _via_question_changed, sender=_model, dispatch_uid=f"touch-d-{_model.__name__}"
    )
