"""One schemathesis loop for every API test that tries the published OpenAPI schema against the
app itself (WSGI): each operation gets requests generated from the schema (positive: data the
schema allows; negative: data it forbids), sent with a token; no request may cause a 5xx, every
answer must be one the schema documents, and in negative mode every forbidden request must be
refused. The tests keep only what is theirs: which operations, which fixed path parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, strategies
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

MODE_NAMES = ("negative", "positive")

# Operations whose input is judged against what is stored, which a static schema cannot hold:
# for them a request the schema allows may still be refused (400) with the place named.
_FILTERS = "filters name this questionnaire's segments, questions and options"
_DOCUMENT = "a questionnaire/v1 document, judged by the rulebook (docs/definitions.md)"
JUDGED_BEYOND_SCHEMA = {
    "POST /api/v1/questionnaires/{slug}/submissions/": (
        "answers against the questionnaire's definition (its definition endpoint says what "
        "it takes); the id may come as the Idempotency-Key header instead"
    ),
    "POST /api/v1/questionnaires/": _DOCUMENT,
    "PUT /api/v1/questionnaires/{slug}/definition/draft/": _DOCUMENT,
    "POST /api/v1/questionnaires/{slug}/definition/publish/": "the stored draft, judged again",
    "GET /api/v1/questionnaires/{slug}/analysis/": _FILTERS,
    "GET /api/v1/questionnaires/{slug}/analysis/texts/": _FILTERS + ", and its text questions",
    "POST /api/v1/questionnaires/{slug}/exports/": _FILTERS,
    "GET /api/v1/questionnaires/{slug}/exports/responses.csv": _FILTERS,
    "POST /api/v1/questionnaires/{slug}/respondents/forget/": (
        "a collector's identity names one of the questionnaire's collectors"
    ),
}
_CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def api_operations(pattern: re.Pattern[str]) -> list:
    """The operations of the published schema whose path matches ``pattern``."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    operations = (result.ok() for result in schema.get_all_operations())
    return [operation for operation in operations if pattern.match(operation.path)]


def schema_run(
    *,
    operations: list,
    mode_name: str,
    token: str,
    strategy: Callable[[object, object], object],
    max_examples: int,
    check_headers: bool = False,
    judged_beyond_schema: frozenset[str] = frozenset(JUDGED_BEYOND_SCHEMA),
) -> list[str]:
    """Run every operation with cases drawn from ``strategy(operation, mode)``; return the
    labels of those with nothing left to make invalid (negative mode only, else it fails).

    In positive mode every request the schema allows must be accepted (2xx, or 401/403/404/
    409/429, which depend on who asks and what exists), except for the operations named in
    ``judged_beyond_schema`` (by label): those whose input is judged against data a static
    schema cannot hold (``JUDGED_BEYOND_SCHEMA`` says why for each)."""
    mode = (
        schemathesis.GenerationMode.POSITIVE
        if mode_name == "positive"
        else schemathesis.GenerationMode.NEGATIVE
    )
    base = [*_CONFORMANCE, *([response_headers_conformance] if check_headers else [])]
    headers = {"Authorization": f"Token {token}"}
    unsatisfiable: list[str] = []
    for operation in operations:
        checks = list(base)
        if not mode.is_positive:
            checks.append(negative_data_rejection)
        elif operation.label not in judged_beyond_schema:
            checks.append(positive_data_acceptance)
        call = given(case=strategy(operation, mode))(
            hypothesis_settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )(_validator(headers, checks))
        )
        try:
            call()
        except Unsatisfiable:
            # An operation whose only inputs are path parameters the strategy fixes has
            # nothing left to make invalid.
            assert not mode.is_positive, operation.label
            unsatisfiable.append(operation.label)
    return unsatisfiable


def _validator(headers: dict[str, str], checks: list) -> Callable[[object], None]:
    def call(case) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    return call


def fixed_or_free(path_parameters: dict) -> Callable[[object, object], object]:
    """Cases with these path parameters (the ones that exist), or with any."""

    def strategy(operation, mode):
        fixed = {k: v for k, v in path_parameters.items() if f"{{{k}}}" in operation.path}
        return strategies.one_of(
            operation.as_strategy(mode, path_parameters=fixed),
            operation.as_strategy(mode),
        )

    return strategy
