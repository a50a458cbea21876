"""Text that no database column can hold: a NUL character (PostgreSQL refuses it in text) or a
lone UTF-16 surrogate (``"\\ud800"`` from a JSON escape: not encodable as UTF-8).

Every way in refuses such text before it reaches a query or a hash, where the input is
validated and with that validator's error code: the request middleware (paths and query
strings, which reach queries first), Django's and DRF's CharFields (form and serializer
fields), the answers validator (every answer text) and the definition validator (every text
of a document). Nothing is cleaned silently: the client hears which field was refused.
"""

from __future__ import annotations

import re
from typing import Any

NUL = "nul"
SURROGATE = "surrogate"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """``NUL`` or ``SURROGATE`` when ``text`` holds one (the first found), else None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL if found.group() == "\x00" else SURROGATE


def first_unstorable(data: Any, path: str = "") -> str | None:
    """The place (``answers.Q18``, ``answers.Q2.a``, a key itself) of the first unstorable text
    in parsed JSON, else None. No recursion: a deep body cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(data, path)]
    while stack:
        value, place = stack.pop()
        if isinstance(value, str):
            if unstorable(value):
                return place or "body"
        elif isinstance(value, dict):
            for key, child in value.items():
                where = f"{place}.{key}" if place else str(key)
                if isinstance(key, str) and unstorable(key):
                    return place or "body"
                stack.append((child, where))
        elif isinstance(value, list):
            stack.extend((child, f"{place}[{index}]") for index, child in enumerate(value))
    return None
