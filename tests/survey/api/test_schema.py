import re

import pytest
import yaml
from django.core.management import call_command

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def operation(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][f"/api/v1/questionnaires/{{slug}}/{path}"][method]


def test_the_schema_validates_without_warnings(schema):
    # call_command raises (SystemExit/CommandError) on a warning or an invalid schema.
    assert schema["openapi"].startswith("3.")


def test_every_operation_is_documented(schema):
    documented = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    prefix = "/api/v1/questionnaires/{slug}/"
    assert documented >= {
        (f"{prefix}definition/", "get"),
        (f"{prefix}submissions/", "post"),
        (f"{prefix}responses/", "get"),
        (f"{prefix}responses/{{response_id}}/", "get"),
        (f"{prefix}responses/{{response_id}}/status/", "post"),
    }


@pytest.mark.parametrize("code", ["400", "401", "403", "404", "409", "413", "429"])
def test_submission_errors_use_the_error_component(schema, code):
    responses = operation(schema, "submissions/", "post")["responses"]
    assert responses[code]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF


def test_every_4xx_of_every_operation_uses_the_error_component(schema):
    for ops in schema["paths"].values():
        for op in ops.values():
            for code, response in op["responses"].items():
                if code.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == ERROR_REF, (op["operationId"], code)


def test_the_error_component_has_code_message_and_fields(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "fields"}
    codes = schema["components"]["schemas"]["ErrorEnum"]["enum"]
    for code in ("invalid", "malformed_json", "invalid_answers", "rate_limited", "too_large"):
        assert code in codes


def test_the_idempotency_key_header_is_documented(schema):
    parameters = operation(schema, "submissions/", "post")["parameters"]
    header = next(p for p in parameters if p["in"] == "header")
    assert header["name"] == "Idempotency-Key"
    assert header["schema"]["format"] == "uuid"


def test_request_bodies_are_documented(schema):
    submit = operation(schema, "submissions/", "post")["requestBody"]["content"]
    assert list(submit) == ["application/json"]
    body = schema["components"]["schemas"]["SubmissionRequest"]
    assert {"submission_id", "answers", "started_at", "submitted_at", "respondent_key"} <= set(
        body["properties"]
    )
    assert body["required"] == ["answers"]


def test_the_list_documents_its_filters(schema):
    names = {p["name"] for p in operation(schema, "responses/", "get")["parameters"]}
    assert {"status", "submitted_after", "submitted_before", "page", "page_size"} <= names


@pytest.mark.django_db
def test_the_schema_is_served(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/questionnaires/{slug}/submissions/" in response.json()["paths"]


@pytest.mark.django_db
def test_the_docs_page_renders_from_our_own_host(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts), scripts


def test_the_components_keep_their_published_names(schema):
    """Clients generated from the schema name types by these; a mixin placed under a
    decorator once renamed DefinitionProblem to ProblemOut."""
    names = set(schema["components"]["schemas"])
    assert {"DefinitionProblem", "SubmissionRequest", "SubmissionResult", "Error"} <= names
    assert "ProblemOut" not in names
