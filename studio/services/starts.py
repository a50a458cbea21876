"""New questionnaires in the studio: blank, from a template, from a file, or a copy.

Promises:
- ``studio_questionnaire_start`` builds the new document and creates the questionnaire
  through ``survey.services.drafts.questionnaire_create``: the one rulebook judges it
  (``DefinitionInvalid`` with every problem), a taken slug is ``DefinitionConflict``, and
  nothing is stored unless all is well. The new questionnaire is a draft, not yet open.
- The title and slug the admin typed replace the template's, file's or copy's own.
- Templates are questionnaire/v1 files: the reference survey, and the library in
  ``studio/library/`` (satisfaction with NPS, event feedback, employee engagement).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from studio.services.edits import blank_question
from survey.interchange import DefinitionError, load_definition, read_definition_file
from survey.interchange_problems import FORMAT, Problem
from survey.models import Questionnaire
from survey.services.drafts import DefinitionInvalid, questionnaire_create
from survey.services.questionnaires import questionnaire_export

LIBRARY = Path(__file__).resolve().parent.parent / "library"
TEMPLATES = {
    "ipb-survey": (
        settings.BASE_DIR / "examples" / "ipb-survey.yaml",
        gettext_lazy("The reference survey (Internet + Party building, 23 questions)"),
    ),
    "satisfaction-nps": (
        LIBRARY / "satisfaction-nps.yaml",
        gettext_lazy("Customer satisfaction with NPS"),
    ),
    "event-feedback": (LIBRARY / "event-feedback.yaml", gettext_lazy("Event feedback")),
    "employee-engagement": (
        LIBRARY / "employee-engagement.yaml",
        gettext_lazy("Employee engagement"),
    ),
}
LANGUAGES = ["zh-hans", "en"]


def template_choices() -> list[tuple[str, str]]:
    return [(key, str(name)) for key, (_path, name) in TEMPLATES.items()]


@dataclass(frozen=True)
class Start:
    """Where a new questionnaire starts from (``source``: blank, template, file or copy)."""

    source: str
    slug: str
    title: str = ""
    language: str = "zh-hans"
    template: str = ""
    copy_of: Questionnaire | None = None
    file_data: bytes = b""
    file_name: str = ""


def blank_document(*, slug: str, title: str, language: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "slug": slug,
        "languages": [language, *[code for code in LANGUAGES if code != language]],
        "title": {language: title},
        "sections": [
            {
                "code": "A",
                "title": {language: _("Part one")},
                "questions": [blank_question("single", "Q1", language)],
            }
        ],
    }


def _started(start: Start) -> dict[str, Any]:
    if start.source == "blank":
        return blank_document(slug=start.slug, title=start.title, language=start.language)
    if start.source == "template":
        path, _name = TEMPLATES[start.template]
        return load_definition(path.read_text(encoding="utf-8"), filename=path.name)
    if start.source == "copy" and start.copy_of is not None:
        return copy.deepcopy(questionnaire_export(questionnaire=start.copy_of))
    if start.source == "file":
        return read_definition_file(start.file_data, filename=start.file_name).document
    raise ValueError(f"no start from {start.source!r}")


def studio_questionnaire_start(*, start: Start) -> Questionnaire:
    """The new questionnaire (a draft); see the module's promises."""
    try:
        document = _started(start)
    except DefinitionError as error:
        problems = [Problem("unreadable_file", "file", str(p)) for p in error.problems]
        raise DefinitionInvalid(_("The file cannot be read."), problems) from error
    if not isinstance(document, dict):
        problem = Problem("not_mapping", "file", _("The file holds no questionnaire."))
        raise DefinitionInvalid(_("The file cannot be read."), [problem])
    document["slug"] = start.slug
    if start.title:
        title = document.get("title")
        kept = title if isinstance(title, dict) else {}
        document["title"] = {**kept, start.language: start.title}
    return questionnaire_create(document=document)
