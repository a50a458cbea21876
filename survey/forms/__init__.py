"""Form fields, widgets and forms of the questionnaire admin.

Promises:
- ``LabelField`` edits a label (``str`` or ``{language: text}``) with one box per language of
  ``settings.LANGUAGES`` and cleans to a ``{language: text}`` map without empty languages (``""``
  when an optional label is left empty). With ``LabelFormMixin`` a form also keeps languages it
  does not show, and keeps a plain-string label that was not edited as the same string.
- The admin forms check what the database cannot: ``show_if`` and segment rules compile
  against the questionnaire, option flags fit the question type, banner entries exist, a code
  change or a type change does not break an expression or the banner. Every error is attached
  to the field it is about, or names it.
"""
