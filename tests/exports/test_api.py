"""The exports API: who may export, identities, bounded queries, the job's life, the audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

import exports.exporters.base as exporters_base
import exports.services as exports_service
from config.celery import app as celery_app
from exports.models import Export
from exports.services import export_expire, export_run
from survey.models import AuditEvent
from tests.exports.support import body_of, csv_rows, submit
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db


def base(questionnaire) -> str:
    return f"/api/v1/questionnaires/{questionnaire.slug}/exports/"


@pytest.fixture
def other_questionnaire(db):
    from survey.interchange import load_definition
    from survey.services.questionnaires import questionnaire_import, questionnaire_publish
    from tests.conftest import EXAMPLE_DEFINITION

    definition = load_definition(EXAMPLE_DEFINITION.read_bytes(), filename="ipb-survey.yaml")
    definition["slug"] = "other-survey"
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))


@pytest.fixture
def done_export(ipb, analyst, requested):
    submit(ipb)
    return requested(questionnaire=ipb, kind="responses_wide", fmt="xlsx", user=analyst)


# --- who may export ------------------------------------------------------------------------


def routes(ipb, export_id: int) -> list[tuple[str, str]]:
    url = base(ipb)
    return [
        ("post", url),
        ("get", url),
        ("get", f"{url}responses.csv"),
        ("get", f"{url}{export_id}/"),
        ("get", f"{url}{export_id}/download/"),
    ]


def call(client, method: str, url: str):
    if method == "post":
        return client.post(url, {"kind": "responses_wide", "format": "csv"}, format="json")
    return client.get(url)


def test_anonymous_users_are_asked_to_log_in_everywhere(ipb, done_export, client_for):
    for method, url in routes(ipb, done_export.pk):
        answer = call(client_for(None), method, url)
        assert answer.status_code == 401, url
        assert answer.json()["error"] == "not_authenticated"


def test_collectors_are_refused_everywhere(ipb, done_export, make_user, client_for):
    collector = make_user("collector", "collector", grants=(ipb,))
    for method, url in routes(ipb, done_export.pk):
        answer = call(client_for(collector), method, url)
        assert answer.status_code == 403, url
        assert answer.json()["error"] == "permission_denied"


def test_an_analyst_of_another_questionnaire_finds_nothing(
    ipb, other_questionnaire, done_export, make_user, client_for
):
    outsider = make_user("outsider", "analyst", grants=(other_questionnaire,))
    for method, url in routes(ipb, done_export.pk):
        answer = call(client_for(outsider), method, url)
        assert answer.status_code == 404, url
        assert answer.json()["error"] == "not_found"


def test_another_analyst_of_the_same_questionnaire_cannot_see_my_export(
    ipb, done_export, make_user, client_for
):
    colleague = make_user("colleague", "analyst", grants=(ipb,))
    client = client_for(colleague)
    assert client.get(f"{base(ipb)}{done_export.pk}/").status_code == 404
    assert client.get(f"{base(ipb)}{done_export.pk}/download/").status_code == 404
    assert client.get(base(ipb)).json()["results"] == []


def test_admins_see_every_export(ipb, done_export, make_user, client_for):
    admin = make_user("boss", "admin")
    answer = client_for(admin).get(f"{base(ipb)}{done_export.pk}/")
    assert answer.status_code == 200 and answer.json()["status"] == "done"


# --- identities ----------------------------------------------------------------------------


def test_identity_columns_appear_only_with_the_permission(ipb, analyst, make_user, client_for):
    response = submit(ipb, identity="phone-1")
    plain = csv_rows(body_of(client_for(analyst).get(f"{base(ipb)}responses.csv")))[0]
    assert "respondent" not in plain and "ip_hash" not in plain

    refused = client_for(analyst).get(f"{base(ipb)}responses.csv?identity=true")
    assert refused.status_code == 403 and "identity" in refused.json()["fields"]
    refused = client_for(analyst).post(
        base(ipb),
        {"kind": "responses_wide", "format": "xlsx", "options": {"identity": True}},
        format="json",
    )
    assert refused.status_code == 403 and "options.identity" in refused.json()["fields"]

    trusted = make_user("trusted", "analyst", grants=(ipb,), identity=True)
    answer = client_for(trusted).get(f"{base(ipb)}responses.csv?identity=true")
    header, row = csv_rows(body_of(answer))
    cells = dict(zip(header, row, strict=True))
    assert cells["respondent"] == response.respondent.identity_hash
    assert cells["ip_hash"] == response.ip_hash != ""


def test_an_admin_role_alone_does_not_reveal_identities(ipb, make_user, client_for):
    submit(ipb, identity="phone-1")
    admin = make_user("boss", "admin")
    assert client_for(admin).get(f"{base(ipb)}responses.csv?identity=1").status_code == 403


# --- streaming -----------------------------------------------------------------------------


def test_the_streamed_csv_is_an_attachment_with_the_responses_counted(ipb, analyst, client_for):
    for _ in range(3):
        submit(ipb)
    answer = client_for(analyst).get(f"{base(ipb)}responses.csv?labels=true&language=en")
    assert answer.status_code == 200
    assert answer.streaming
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"].startswith('attachment; filename="ipb-survey-responses-')
    assert answer["X-Export-Responses"] == "3"
    rows = csv_rows(body_of(answer))
    assert len(rows) == 2 + 3 and rows[1][rows[0].index("D1")] == "Gender"


def streamed_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url)
        body_of(answer)
    return len(queries)


def test_the_streamed_csv_costs_the_same_queries_for_10_and_100_responses(
    ipb, analyst, client_for, settings
):
    settings.EXPORT_CHUNK_SIZE = 2000
    client = client_for(analyst)
    url = f"{base(ipb)}responses.csv?segment=active&status=all"
    for _ in range(10):
        submit(ipb)
    streamed_queries(client, url)  # warms the structure cache, as a running server has it
    with_10 = streamed_queries(client, url)
    for _ in range(90):
        submit(ipb)
    with_100 = streamed_queries(client, url)
    assert with_10 == with_100
    assert with_100 <= 12


# --- the job -------------------------------------------------------------------------------


@pytest.fixture
def queued_only(settings, monkeypatch, media):
    """A broker that records what is sent to it; nothing runs by itself."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple[str, list]] = []

    def send_task(name, args=None, **options):
        sent.append((name, list(args or [])))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent


def test_a_job_goes_queued_running_done_with_progress_and_downloads(
    ipb, analyst, client_for, queued_only, monkeypatch, django_capture_on_commit_callbacks
):
    for _ in range(4):
        submit(ipb)
    client = client_for(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(base(ipb), {"kind": "responses_wide", "format": "xlsx"}, format="json")
    assert answer.status_code == 202
    created = answer.json()
    assert (created["status"], created["progress"], created["responses"]) == ("queued", 0, 4)
    assert queued_only == [("analysis.export_run", [created["id"]])]

    seen: list[tuple[str, int]] = []
    writer = exports_service._progress_writer

    def spy(export_id, exporter, total):
        inner = writer(export_id, exporter, total)

        def progress(rows: int) -> None:
            inner(rows)
            seen.append(Export.objects.values_list("status", "progress").get(pk=export_id))

        return progress

    monkeypatch.setattr(exports_service, "_progress_writer", spy)
    monkeypatch.setattr(exports_service, "PROGRESS_SECONDS", 0)
    monkeypatch.setattr(exporters_base, "PROGRESS_EVERY", 1)
    export_run(export_id=created["id"])
    assert seen[:4] == [("running", 25), ("running", 50), ("running", 75), ("running", 99)]

    detail = client.get(created["url"]).json()
    assert (detail["status"], detail["progress"], detail["rows"]) == ("done", 100, 4)
    assert detail["file_name"].endswith(".xlsx") and detail["size"] > 0
    download = client.get(detail["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert detail["file_name"] in download["Content-Disposition"]
    assert body_of(download)[:2] == b"PK"

    finished = Export.objects.get(pk=created["id"])
    export_run(export_id=created["id"])  # a finished job is not made again
    again = Export.objects.get(pk=created["id"])
    assert (again.finished_at, again.file_path) == (finished.finished_at, finished.file_path)


def test_expiry_deletes_the_file_and_marks_the_export_expired(
    ipb, analyst, done_export, client_for, media
):
    path = media / done_export.file_path
    assert path.is_file()
    assert export_expire(now=done_export.expires_at - timedelta(seconds=1)) == 0
    assert export_expire(now=done_export.expires_at + timedelta(seconds=1)) == 1
    done_export.refresh_from_db()
    assert done_export.status == "expired" and done_export.file_path == ""
    assert not path.exists() and not path.parent.exists()
    answer = client_for(analyst).get(
        f"{base(ipb)}{done_export.pk}/download/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code == 404 and "Expired" in answer.json()["message"]


def test_the_retention_comes_from_the_setting(ipb, analyst, requested, settings):
    settings.EXPORT_RETENTION_HOURS = 3
    submit(ipb)
    export = requested(questionnaire=ipb, kind="responses_long", fmt="csv", user=analyst)
    assert export.expires_at - export.finished_at == timedelta(hours=3)


def test_a_job_whose_worker_vanished_is_failed_by_the_cleanup(
    ipb, analyst, queued_only, django_capture_on_commit_callbacks
):
    from exports.services import export_request

    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(
            questionnaire=ipb, kind="responses_wide", fmt="csv", filters={}, user=analyst
        )
    long_ago = export.created_at - timedelta(days=2)
    Export.objects.filter(pk=export.pk).update(status="running", started_at=long_ago)
    with translation.override("en"):
        export_expire()
    export.refresh_from_db()
    assert export.status == "failed" and "worker" in export.error


def test_an_unreachable_broker_fails_the_export_with_a_message(
    ipb, analyst, settings, monkeypatch, media, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from exports.services import export_request

    settings.CELERY_TASK_ALWAYS_EAGER = False

    def send_task(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(celery_app, "send_task", send_task)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        export = export_request(
            questionnaire=ipb, kind="responses_wide", fmt="csv", filters={}, user=analyst
        )
    export.refresh_from_db()
    assert export.status == "failed" and "queue" in export.error


def test_the_tasks_are_registered_and_the_cleanup_is_scheduled():
    celery_app.loader.import_default_modules()
    assert {"analysis.export_run", "analysis.export_expire"} <= set(celery_app.tasks)
    assert celery_app.conf.beat_schedule["analysis.export_expire"]["task"] == (
        "analysis.export_expire"
    )


# --- the audit -----------------------------------------------------------------------------


def test_every_export_is_audited_with_who_what_filters_and_rows(
    ipb, analyst, client_for, requested
):
    submit(ipb)
    submit(ipb, complete_answers(Q17=1))  # invalid
    body_of(client_for(analyst).get(f"{base(ipb)}responses.csv?status=all&kind=responses_long"))
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="sav", user=analyst)
    streamed, job = AuditEvent.objects.order_by("at", "id")
    assert (streamed.action, streamed.actor, streamed.questionnaire) == ("export", analyst, ipb)
    assert streamed.details["kind"] == "responses_long" and streamed.details["format"] == "csv"
    assert streamed.details["filters"]["status"] == "all"
    assert streamed.details["responses"] == 2 and streamed.details["rows"] > 2
    assert streamed.details["actor"] == "analyst"
    assert job.details["export_id"] == export.pk
    assert (job.details["format"], job.details["responses"], job.details["rows"]) == ("sav", 1, 1)


def test_admins_read_the_audit_trail_in_the_admin_and_cannot_change_it(ipb, analyst, client):
    stream = exports_service.export_stream_csv(
        questionnaire=ipb, kind="responses_wide", filters={}, options={}, user=analyst
    )
    b"".join(stream.chunks)
    admin = User.objects.create_superuser("root", password="x")
    client.force_login(admin)
    event = AuditEvent.objects.get()
    listing = client.get("/admin/survey/auditevent/")
    assert listing.status_code == 200 and "responses_wide" in listing.content.decode()
    assert client.get(f"/admin/survey/auditevent/{event.pk}/change/").status_code == 200
    assert client.get("/admin/survey/auditevent/add/").status_code == 403
    assert client.post(f"/admin/survey/auditevent/{event.pk}/delete/").status_code == 403


def test_the_list_of_exports_costs_the_same_queries_for_1_and_5_exports(
    ipb, analyst, client_for, requested, django_assert_max_num_queries
):
    client = client_for(analyst)
    requested(questionnaire=ipb, kind="responses_wide", fmt="csv", user=analyst)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(base(ipb)).json()["results"]) == 1
    for _ in range(4):
        requested(questionnaire=ipb, kind="responses_long", fmt="csv", user=analyst)
    with django_assert_max_num_queries(len(one)):
        assert len(client.get(base(ipb)).json()["results"]) == 5


def test_a_wrong_kind_or_format_is_refused_naming_the_field(ipb, analyst, client_for):
    answer = client_for(analyst).post(
        base(ipb), {"kind": "everything", "format": "pdf"}, format="json"
    )
    assert answer.status_code == 400
    assert {"kind", "format"} <= set(answer.json()["fields"])
