"""Analysts' rewrites of the drafted report's findings (``analysis.models.ReportEdit``).

Promises:
- An edit replaces one finding's sentence in one language and one filter scope; it is kept
  by what the finding is about, so every later run that still has the finding shows it.
- Saving an empty text removes the edit: the draft's sentence comes back.
- Only a finding of the current draft may be rewritten, and a text is at most
  ``TEXT_LIMIT`` characters: anything else is refused naming the field, nothing is stored.
- ``report_apply`` says, per finding, whether its rewrite was made over other numbers than
  the draft now states (``stale``), so the page can ask for a second look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _

from analysis.models import ReportEdit
from analysis.services.report import Draft, Finding
from survey.models import Questionnaire
from wenji.errors import DomainError

TEXT_LIMIT = 4000


class ReportEditInvalid(DomainError):
    code = "invalid_report_edit"


@dataclass(frozen=True)
class Shown:
    """A finding as the report shows it: the analyst's text when there is one."""

    finding: Finding
    text: str
    edited: bool
    stale: bool  # rewritten when the draft said other numbers
    edited_by: str = ""


def report_edits(
    *, questionnaire: Questionnaire, language: str, scope: str
) -> dict[str, ReportEdit]:
    """The edits of one report, by finding key (one query)."""
    rows = ReportEdit.objects.filter(
        questionnaire=questionnaire, language=language, scope=scope
    ).select_related("edited_by")
    return {edit.key: edit for edit in rows}


def report_apply(draft: Draft, edits: dict[str, ReportEdit]) -> dict[str, Shown]:
    """Each finding of ``draft`` with its rewrite, if any."""
    shown = {}
    for finding in draft.findings():
        edit = edits.get(finding.key)
        if edit is None:
            shown[finding.key] = Shown(finding, finding.text, edited=False, stale=False)
        else:
            shown[finding.key] = Shown(
                finding,
                edit.text,
                edited=True,
                stale=edit.figures != finding.figures,
                edited_by=edit.edited_by.get_username() if edit.edited_by else "",
            )
    return shown


def report_edit_save(
    *,
    questionnaire: Questionnaire,
    draft: Draft,
    scope: str,
    key: str,
    text: str,
    user: AbstractBaseUser | Any,
) -> ReportEdit | None:
    """Store ``text`` as the rewrite of the finding ``key`` of ``draft`` (None: removed)."""
    finding = next((f for f in draft.findings() if f.key == key), None)
    if finding is None:
        raise ReportEditInvalid(
            _("This report has no finding %(key)s any more; reload it.") % {"key": key},
            {"key": [_("Not a finding of this report.")]},
        )
    text = text.strip()
    if len(text) > TEXT_LIMIT:
        message = _("Write at most %(limit)s characters.") % {"limit": TEXT_LIMIT}
        raise ReportEditInvalid(message, {"text": [message]})
    where = {"questionnaire": questionnaire, "language": draft.language, "scope": scope, "key": key}
    if not text or text == finding.text:
        ReportEdit.objects.filter(**where).delete()
        return None
    edit, _created = ReportEdit.objects.update_or_create(
        **where,
        defaults={
            "text": text,
            "figures": finding.figures,
            "edited_by": user if getattr(user, "pk", None) else None,
            "edited_at": timezone.now(),
        },
    )
    return edit
