"""The base of every refusal a service raises, so that services never know about HTTP.

A ``DomainError`` carries a stable ``code`` (clients branch on it), a ``message`` for a person
(already in the request's language) and per-place problems in ``fields`` (a question code,
``Q5.b``, a field name). ``conflict`` says the refusal comes from the state of things (a
closed questionnaire, a used submission id) rather than from the input; the API answers 409
for those and 400 for the rest (``wenji.api.errors``).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    conflict = False

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
