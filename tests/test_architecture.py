"""The rooms of docs/architecture.md import only downwards: a new arrow that runs back up (or a
second place for a rule) shows here, not in a review months later."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# Which apps each room may import from (besides itself, Django and third-party packages).
MAY_IMPORT = {
    "config": {"wenji"},
    "wenji": set(),
    "survey": {"wenji"},
    "analysis": {"survey", "wenji"},
    "exports": {"analysis", "survey", "wenji"},
    "studio": {"analysis", "survey", "wenji"},
    "demo": {"survey", "wenji"},
}
# The one arrow that runs up, on purpose: a grant is a row of survey's, and the shared access
# layer checks it (docs/architecture.md, "The one exception").
EXCEPTIONS = {
    ("wenji/access.py", "survey.models"),
    ("wenji/api/permissions.py", "survey.models"),
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(room: str) -> list[Path]:
    return [
        path for path in sorted((REPO_ROOT / room).rglob("*.py")) if "migrations" not in path.parts
    ]


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_each_room_imports_only_the_rooms_below_it(room):
    wrong = []
    for path in _modules(room):
        place = path.relative_to(REPO_ROOT).as_posix()
        for module in _imports(path):
            top = module.split(".")[0]
            allowed = top not in MAY_IMPORT or top == room or top in MAY_IMPORT[room]
            if not allowed and (place, module) not in EXCEPTIONS:
                wrong.append(f"{place} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_the_analysis_and_exports_use_the_shared_api_layer_not_the_surveys():
    for room in ("analysis", "exports", "demo", "studio"):
        for path in _modules(room):
            assert not any(m.startswith("survey.api") for m in _imports(path)), path


def test_validity_and_generation_each_live_in_one_module():
    """What a valid response is: survey.services.validity; generated data: demo (the
    benchmarks included)."""
    for room in [*MAY_IMPORT, "bench"]:
        for path in _modules(room):
            text = path.read_text(encoding="utf-8")
            place = path.relative_to(REPO_ROOT).as_posix()
            if place != "survey/services/validity.py":
                assert "def validity_recompute" not in text, place
                assert "def straightlined" not in text, place
            if not place.startswith("demo/"):
                assert "def responses_plan" not in text, place
                assert "def random_answers" not in text, place
