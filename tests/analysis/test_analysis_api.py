"""The analysis API: request a run, poll it, read the latest successful results (or an older
run's), who may do each, the error shape, bounded queries, and a schemathesis run."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from analysis import tasks
from analysis.models import AnalysisRun
from analysis.services.runs import analysis_run_execute, analysis_run_request
from tests.analysis import jobs
from tests.analysis.jobs import submit
from tests.schema_run import MODE_NAMES, api_operations, fixed_or_free, schema_run

eager, sent = jobs.eager, jobs.sent  # fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def analyst(make_user, client_for, ipb):
    """Here: the API client of an analyst granted the questionnaire."""
    return client_for(make_user("analyst", "analyst", grants=(ipb,)))


def runs_url(slug="ipb-survey"):
    return f"/api/v1/questionnaires/{slug}/analysis/runs/"


def run_url(run_id, slug="ipb-survey"):
    return f"/api/v1/questionnaires/{slug}/analysis/runs/{run_id}/"


def results_url(slug="ipb-survey", **query):
    suffix = "".join(f"?{key}={value}" for key, value in query.items())
    return f"/api/v1/questionnaires/{slug}/analysis/{suffix}"


def done_run(questionnaire):
    run = analysis_run_request(questionnaire_id=questionnaire.pk, trigger="manual", dispatch=False)
    return analysis_run_execute(run_id=run.pk)


# --- who may ---------------------------------------------------------------------------------

OPERATIONS = [
    ("post", lambda run: runs_url(), 202),
    ("get", lambda run: runs_url(), 200),
    ("get", lambda run: run_url(run.pk), 200),
    ("get", lambda run: results_url(), 200),
]


@pytest.fixture
def finished(ipb, eager):
    submit(ipb, 3)
    return done_run(ipb)


@pytest.mark.parametrize(("method", "url", "ok"), OPERATIONS)
def test_an_analyst_granted_the_questionnaire_and_admins_get_in(
    ipb, finished, method, url, ok, make_user, client_for
):
    other = jobs.another_questionnaire("other-survey")
    people = [
        make_user("analyst", "analyst", grants=(ipb,)),
        make_user("admin", "admin"),
        make_user("root", superuser=True),
        make_user("analyst-of-both", "analyst", "collector", grants=(ipb, other)),
    ]
    for person in people:
        answer = getattr(client_for(person), method)(url(finished))
        assert answer.status_code == ok, (person.username, answer.json())


@pytest.mark.parametrize(("method", "url", "ok"), OPERATIONS)
def test_everyone_else_is_refused_in_the_error_shape(
    ipb, finished, method, url, ok, make_user, client_for
):
    other = jobs.another_questionnaire("other-survey")
    refused = [
        (None, 401, "not_authenticated"),
        (make_user("collector", "collector", grants=(ipb,)), 403, "permission_denied"),
        (make_user("no-role", grants=(ipb,)), 403, "permission_denied"),
        (make_user("analyst-elsewhere", "analyst", grants=(other,)), 404, "not_found"),
    ]
    for person, status, code in refused:
        answer = getattr(client_for(person), method)(url(finished))
        assert answer.status_code == status, (person, answer.content)
        body = answer.json()
        assert body["error"] == code and body["message"] and body["fields"] == {}
    assert AnalysisRun.objects.count() == 1  # no refused POST queued anything


def test_an_unknown_questionnaire_is_not_found(analyst):
    answer = analyst.post(runs_url("no-such-survey"))
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"


# --- request, poll, read -------------------------------------------------------------------------


def test_a_requested_run_is_queued_polled_and_then_its_results_are_served(
    ipb, analyst, sent, django_capture_on_commit_callbacks
):
    submit(ipb, 5)
    with django_capture_on_commit_callbacks(execute=True):
        answer = analyst.post(runs_url())
    assert answer.status_code == 202
    run = answer.json()
    assert (run["status"], run["progress"], run["trigger"]) == ("queued", 0, "manual")
    assert run["status_label"] == "排队中"  # in the reader's language
    assert (run["requested_by"], run["questionnaire"], run["error"]) == (
        "analyst",
        "ipb-survey",
        None,
    )
    assert run["url"] == run_url(run["id"]) and run["results_url"] is None
    assert sent.named("analysis.run") == [[run["id"]]]
    assert analyst.get(results_url()).status_code == 404  # nothing finished yet

    tasks.run(run["id"])  # what the worker does
    polled = analyst.get(run["url"]).json()
    assert (polled["status"], polled["progress"], polled["attempts"]) == ("done", 100, 1)
    assert polled["counts"]["collected"] == 5 and polled["response_count"] == 5
    assert polled["results_url"] == results_url(run=run["id"])
    body = analyst.get(results_url()).json()
    assert body["run"]["id"] == run["id"]
    assert body["results"]["validity"] == polled["counts"]
    assert body["results"]["questionnaire"]["slug"] == "ipb-survey"


def test_requesting_while_a_run_is_queued_answers_with_that_run(ipb, analyst, sent):
    first = analyst.post(runs_url()).json()
    second = analyst.post(runs_url()).json()
    assert second["id"] == first["id"]
    assert AnalysisRun.objects.count() == 1


def test_without_a_broker_the_run_happens_at_once(
    ipb, analyst, eager, django_capture_on_commit_callbacks
):
    submit(ipb, 2)
    with django_capture_on_commit_callbacks(execute=True):
        run = analyst.post(runs_url()).json()
    assert analyst.get(run["url"]).json()["status"] == "done"


def test_the_latest_successful_results_stay_while_a_newer_run_fails(
    ipb, analyst, eager, monkeypatch
):
    submit(ipb, 3)
    good = done_run(ipb)
    submit(ipb, 1, seed=4)
    monkeypatch.setattr("analysis.services.runs.tables_build", lambda **kwargs: {}["missing"])
    with pytest.raises(KeyError):
        done_run(ipb)
    failed = AnalysisRun.objects.get(status="failed")
    body = analyst.get(results_url()).json()
    assert body["run"]["id"] == good.pk
    assert body["results"]["validity"]["collected"] == 3
    error = analyst.get(run_url(failed.pk)).json()["error"]
    assert error["error"] == "analysis_failed" and "KeyError" in error["message"]
    assert error["fields"] == {}
    answer = analyst.get(results_url(run=failed.pk))
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def test_an_older_run_s_results_are_served_on_request(ipb, analyst, eager):
    submit(ipb, 2)
    older = done_run(ipb)
    submit(ipb, 2, seed=8)
    newer = done_run(ipb)
    assert analyst.get(results_url()).json()["run"]["id"] == newer.pk
    body = analyst.get(results_url(run=older.pk)).json()
    assert body["run"]["id"] == older.pk
    assert body["results"]["validity"]["collected"] == 2


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", "", str(2**63)])
def test_a_bad_run_parameter_is_a_400_naming_it(ipb, analyst, value):
    answer = analyst.get(results_url(run=value))
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid" and list(body["fields"]) == ["run"]


def test_a_run_of_another_questionnaire_is_not_found(ipb, analyst, eager):
    other = jobs.another_questionnaire("other-survey")
    foreign = done_run(other)
    assert analyst.get(run_url(foreign.pk)).status_code == 404
    assert analyst.get(results_url(run=foreign.pk)).status_code == 404


def test_the_run_list_is_paginated_newest_first_without_results(ipb, analyst, eager):
    made = [done_run(ipb).pk for _run in range(3)]
    body = analyst.get(runs_url() + "?page_size=2").json()
    assert body["count"] == 3 and body["next"] and body["previous"] is None
    assert [run["id"] for run in body["results"]] == made[::-1][:2]
    assert "results" not in body["results"][0]


def test_reads_take_a_bounded_number_of_queries(ipb, analyst, eager, django_assert_max_num_queries):
    submit(ipb, 2)
    for _run in range(25):
        last = done_run(ipb)
    with django_assert_max_num_queries(6):
        assert analyst.get(runs_url()).status_code == 200
    with django_assert_max_num_queries(5):
        assert analyst.get(results_url()).status_code == 200
    with django_assert_max_num_queries(5):
        assert analyst.get(run_url(last.pk)).status_code == 200


# --- the schema, tried ---------------------------------------------------------------------------

ANALYSIS_API = re.compile(r"^/api/v1/questionnaires/\{slug\}/analysis/")


@pytest.mark.parametrize("mode_name", sorted(MODE_NAMES))
def test_no_generated_request_causes_a_server_error_or_an_undocumented_answer(
    ipb, sent, settings, keep_test_connection, mode_name, make_user
):
    settings.ALLOWED_HOSTS = ["*"]
    submit(ipb, 2)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    run = done_run(ipb)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    token = Token.objects.create(user=make_user("schema", "analyst", grants=(ipb,))).key
    operations = api_operations(ANALYSIS_API)
    assert len(operations) == 5
    unsatisfiable = schema_run(
        operations=operations,
        mode_name=mode_name,
        token=token,
        strategy=fixed_or_free({"slug": "ipb-survey", "run_id": run.pk}),
        max_examples=25,
    )
    assert len(unsatisfiable) < len(operations)
