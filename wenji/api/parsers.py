"""The JSON body parser of the API: DRF's, made safe against bodies built to hurt.

DRF's parser turns only ``ValueError`` into a 400; a body of a few thousand ``[`` makes the
decoder raise ``RecursionError`` instead, which would be a 500. Nesting is also bounded after
parsing, so later code (serializers, ``json.dumps`` of answers) never recurses deeply either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# An answers object is at most three levels deep inside the body (body → answers → matrix).
MAX_DEPTH = 32


class JSONBodyParser(JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from None
        if nesting_exceeds(data, MAX_DEPTH):
            raise ParseError(
                _("JSON parse error - the body is nested more than %d levels deep.") % MAX_DEPTH
            )
        return data


def nesting_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` has lists/objects nested more than ``limit`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
