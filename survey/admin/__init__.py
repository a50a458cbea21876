"""The Django admin of questionnaires: definition pages, publish/close, definition files.

Thin by design: validation lives in ``survey.forms``, spreadsheet rows in
``survey.resources``, and every state change goes through ``survey.services.questionnaires``.

The structural lock: once ``questionnaire_structure_lock_reason`` gives a reason (the
questionnaire has responses), the pages show it, and question code/type, option
code/other/exclusive and item code become read-only, with no adding or deleting of questions,
options or items. Read-only fields are left out of the forms, so a crafted POST cannot change
them either. The rest is what definition-file replaces allow too: ``show_if`` (a changed
condition changes who is asked from now on, while stored answers keep pointing at the same
rows) and the section layout (sections added, renamed, reordered or removed, questions moved
between them): sections are pages, answers do not point at them. A section is never removed
with questions still in it, locked or not: that would remove the questions.
"""

# Each module registers its pages.
from survey.admin import audit, questionnaires, questions, responses  # noqa: F401
