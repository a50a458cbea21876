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
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

MODE_NAMES = ("negative", "positive")
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
) -> list[str]:
    """Run every operation with cases drawn from ``strategy(operation, mode)``; return the
    labels of those with nothing left to make invalid (negative mode only, else it fails)."""
    mode = (
        schemathesis.GenerationMode.POSITIVE
        if mode_name == "positive"
        else schemathesis.GenerationMode.NEGATIVE
    )
    checks = [*_CONFORMANCE, *([response_headers_conformance] if check_headers else [])]
    if not mode.is_positive:
        checks.append(negative_data_rejection)
    headers = {"Authorization": f"Token {token}"}
    unsatisfiable: list[str] = []
    for operation in operations:

        @given(case=strategy(operation, mode))
        @hypothesis_settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            call()
        except Unsatisfiable:
            # An operation whose only inputs are path parameters the strategy fixes has
            # nothing left to make invalid.
            assert not mode.is_positive, operation.label
            unsatisfiable.append(operation.label)
    return unsatisfiable


def fixed_or_free(path_parameters: dict) -> Callable[[object, object], object]:
    """Cases with these path parameters (the ones that exist), or with any."""

    def strategy(operation, mode):
        fixed = {k: v for k, v in path_parameters.items() if f"{{{k}}}" in operation.path}
        return strategies.one_of(
            operation.as_strategy(mode, path_parameters=fixed),
            operation.as_strategy(mode),
        )

    return strategy
