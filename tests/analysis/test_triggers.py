"""What starts an analysis run: new data, definition changes, the beat catch-up, the admin
actions and the management command; and a broker that is down."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from analysis import tasks
from analysis.models import AnalysisRun
from analysis.services.runs import analysis_catch_up, analysis_run_execute, analysis_run_request
from config.celery import app as celery_app
from survey.services.notify import new_data_windows_forget
from survey.services.questionnaires import (
    questionnaire_definition_changed,
    questionnaire_export,
    questionnaire_import,
)
from survey.services.responses import response_submit
from tests.analysis import jobs
from tests.analysis.jobs import submit
from tests.survey.answers import complete_answers

eager, sent = jobs.eager, jobs.sent  # fixtures

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


Status = AnalysisRun.Status
Trigger = AnalysisRun.Trigger


@pytest.fixture(autouse=True)
def no_debounce_left_over():
    cache.clear()  # notify.py's debounce keys live in the cache


def runs_of(questionnaire):
    return AnalysisRun.objects.filter(questionnaire=questionnaire)


def analysed(questionnaire):
    """Run the analysis of the questionnaire now, in this process."""
    run = analysis_run_request(questionnaire_id=questionnaire.pk, trigger="manual", dispatch=False)
    return analysis_run_execute(run_id=run.pk)


# --- new data ----------------------------------------------------------------------------------


def test_a_stored_submission_sends_analysis_new_data_once_committed(
    ipb, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response_submit(
            questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="api"
        )
        assert sent.calls == []
    assert sent.named("analysis.new_data") == [[ipb.pk]]


def _submitted(questionnaire, capture, count: int = 1) -> None:
    """``count`` submissions, each committed (its on-commit signal sent) before the next."""
    for _submission in range(count):
        with capture(execute=True):
            response_submit(
                questionnaire=questionnaire,
                answers=complete_answers(),
                submission_id=uuid.uuid4(),
                channel="api",
            )


def test_new_data_within_the_debounce_window_gets_one_delayed_task_never_none(
    ipb, sent, settings, django_capture_on_commit_callbacks
):
    settings.ANALYSIS_DEBOUNCE_SECONDS = 2
    _submitted(ipb, django_capture_on_commit_callbacks, 4)
    # The first at once; the rest of the window covered by one task starting after it ends.
    assert sent.named("analysis.new_data") == [[ipb.pk], [ipb.pk]]
    assert sent.countdowns == [None, 2.5]
    cache.delete_many([f"analysis-new-data:{ipb.pk}", f"analysis-new-data:{ipb.pk}:trailing"])
    new_data_windows_forget()  # the window is over: the delayed task has started
    _submitted(ipb, django_capture_on_commit_callbacks)  # a new window: at once again
    assert sent.countdowns == [None, 2.5, None]


@pytest.mark.redis
def test_a_delayed_task_on_its_way_is_counted_on_without_asking_redis_again(
    ipb, sent, settings, django_capture_on_commit_callbacks, redis_commands
):
    """Another process opened the window and sent the delayed task: this one sends nothing,
    asks Redis once (one script call) how long that task's window lasts, and not again
    within it; after it, new data is sent at once."""
    import time

    settings.ANALYSIS_DEBOUNCE_SECONDS = 1
    cache.set(f"analysis-new-data:{ipb.pk}", 1, timeout=1)
    cache.set(f"analysis-new-data:{ipb.pk}:trailing", 1, timeout=1)
    scripts = redis_commands("EVALSHA", "EVAL")
    _submitted(ipb, django_capture_on_commit_callbacks, 3)
    assert sent.calls == []
    assert len(scripts) in (1, 2)  # one call (a second if Redis had to load the script first)
    time.sleep(1.1)  # that window is over (its key gone, its task started)
    _submitted(ipb, django_capture_on_commit_callbacks)
    assert sent.named("analysis.new_data") == [[ipb.pk]]
    assert sent.countdowns == [None]


def test_new_data_queues_one_run_however_often_it_arrives(
    ipb, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_ids = {tasks.new_data(ipb.pk) for _signal in range(5)}
    (run,) = runs_of(ipb)
    assert run_ids == {run.pk}
    assert (run.status, run.trigger) == (Status.QUEUED, Trigger.NEW_DATA)
    assert sent.named("analysis.run") == [[run.pk]]


def test_new_data_for_a_deleted_questionnaire_is_ignored(db, sent):
    assert tasks.new_data(424242) is None
    assert AnalysisRun.objects.count() == 0


# --- definition changes ------------------------------------------------------------------------


def test_a_definition_change_sends_analysis_definition_changed_once_committed(
    ipb, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        questionnaire_definition_changed(questionnaire=ipb)
        assert sent.calls == []
    assert sent.named("analysis.definition_changed") == [[ipb.pk]]
    tasks.definition_changed(ipb.pk)
    (run,) = runs_of(ipb)
    assert run.trigger == Trigger.DEFINITION_CHANGE


def test_a_changed_option_score_in_a_reimport_triggers_a_run(
    ipb, sent, django_capture_on_commit_callbacks
):
    definition = questionnaire_export(questionnaire=ipb)
    question = next(q for s in definition["sections"] for q in s["questions"] if q["code"] == "Q1")
    question["options"][0]["score"] = 9
    with django_capture_on_commit_callbacks(execute=True):
        questionnaire_import(definition=definition, replace=True)
    assert sent.named("analysis.definition_changed") == [[ipb.pk]]


def test_a_label_change_triggers_nothing(ipb, sent, django_capture_on_commit_callbacks):
    definition = questionnaire_export(questionnaire=ipb)
    definition["title"] = "A new title"
    with django_capture_on_commit_callbacks(execute=True):
        questionnaire_import(definition=definition, replace=True)
    assert sent.calls == []


# --- the scheduled catch-up ----------------------------------------------------------------------


def test_beat_runs_the_catch_up_every_configured_minutes(settings):
    entry = celery_app.conf.beat_schedule["analysis.catch_up"]
    assert entry["task"] == "analysis.catch_up"
    assert entry["schedule"] == settings.ANALYSIS_SCHEDULE_MINUTES * 60


def test_catch_up_runs_a_questionnaire_with_responses_never_analysed(
    ipb, sent, django_capture_on_commit_callbacks
):
    without_responses = jobs.another_questionnaire("no-answers-yet")
    submit(ipb, 2)
    with django_capture_on_commit_callbacks(execute=True):
        requested = tasks.catch_up()
    (run,) = runs_of(ipb)
    assert requested == [run.pk] and run.trigger == Trigger.SCHEDULE
    assert sent.named("analysis.run") == [[run.pk]]
    assert not runs_of(without_responses).exists()


def test_catch_up_leaves_an_up_to_date_questionnaire_alone(ipb, eager):
    submit(ipb, 2)
    analysed(ipb)
    assert analysis_catch_up() == []


def test_catch_up_runs_a_questionnaire_with_newer_responses(
    ipb, eager, django_capture_on_commit_callbacks
):
    submit(ipb, 2)
    analysed(ipb)
    submit(ipb, 1, seed=7)
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = analysis_catch_up()
    run.refresh_from_db()
    assert (run.trigger, run.status, run.counts["collected"]) == (Trigger.SCHEDULE, "done", 3)


def test_catch_up_runs_a_questionnaire_whose_definition_changed(ipb, eager):
    submit(ipb, 2)
    analysed(ipb)
    questionnaire_definition_changed(questionnaire=ipb)
    assert len(analysis_catch_up()) == 1


def test_catch_up_does_not_loop_on_a_run_that_failed_on_the_same_data(
    ipb, eager, monkeypatch, django_capture_on_commit_callbacks
):
    submit(ipb, 2)
    monkeypatch.setattr("analysis.services.runs.tables_build", lambda **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        analysed(ipb)
    assert analysis_catch_up() == []
    submit(ipb, 1, seed=3)
    with pytest.raises(ZeroDivisionError), django_capture_on_commit_callbacks(execute=True):
        analysis_catch_up()  # new data: tried again (eager runs it here, and it fails again)
    assert runs_of(ipb).filter(status=Status.FAILED).count() == 2


def test_catch_up_skips_a_questionnaire_whose_run_is_queued_or_running(ipb, sent):
    submit(ipb, 2)
    tasks.new_data(ipb.pk)
    assert analysis_catch_up() == []


# --- a broker that is down -----------------------------------------------------------------------


def test_a_broker_that_is_down_leaves_the_run_queued_and_the_caller_unharmed(
    ipb, sent, monkeypatch, caplog, settings, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", down)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        run = analysis_run_request(questionnaire_id=ipb.pk, trigger="manual")
    assert "the scheduled catch-up will send it" in caplog.text
    run.refresh_from_db()
    assert run.status == Status.QUEUED
    monkeypatch.undo()
    recorded = jobs.SentTasks()
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, args, **kw: recorded.calls.append((name, args, {}))
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    later = timezone.now() + timedelta(seconds=settings.ANALYSIS_STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        analysis_catch_up(now=later)
    assert recorded.named("analysis.run") == [[run.pk]]


# --- the admin -----------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-1234-x")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(django_user_model) -> Client:
    """Staff who may look at questionnaires and runs, but not start a run."""
    user = django_user_model.objects.create_user("viewer", password="pw-1234-x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_questionnaire", "view_analysisrun"])
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_questionnaire_admin_action_re_runs_the_analysis(
    ipb, eager, superuser_client, django_capture_on_commit_callbacks
):
    submit(ipb, 3)
    url = reverse("admin:survey_questionnaire_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        page = superuser_client.post(
            url, {"action": "rerun_analysis", "_selected_action": [ipb.pk]}, follow=True
        )
    assert page.status_code == 200
    (run,) = runs_of(ipb)
    assert (run.status, run.trigger, run.requested_by.username) == ("done", "manual", "root")
    assert f"#{run.pk}" in page.content.decode()


def test_the_run_admin_action_re_runs_the_questionnaires_of_the_selected_runs(
    ipb, sent, superuser_client, django_capture_on_commit_callbacks
):
    first = analysis_run_request(questionnaire_id=ipb.pk, trigger="new_data", dispatch=False)
    url = reverse("admin:analysis_analysisrun_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        superuser_client.post(url, {"action": "rerun_selected", "_selected_action": [first.pk]})
    assert runs_of(ipb).count() == 1  # one was queued already: that is the run
    assert sent.named("analysis.run") == []


def test_staff_without_the_permission_cannot_re_run(ipb, eager, viewer_client):
    url = reverse("admin:survey_questionnaire_changelist")
    page = viewer_client.get(url)
    assert page.status_code == 200
    assert b"rerun_analysis" not in page.content
    viewer_client.post(url, {"action": "rerun_analysis", "_selected_action": [ipb.pk]})
    assert not runs_of(ipb).exists()


def test_the_run_admin_lists_runs_in_a_bounded_number_of_queries(
    ipb, eager, superuser_client, django_assert_max_num_queries
):
    submit(ipb, 2)
    for _run in range(3):
        analysed(ipb)
    with django_assert_max_num_queries(12):
        page = superuser_client.get(reverse("admin:analysis_analysisrun_changelist"))
    assert page.status_code == 200
    run = runs_of(ipb).first()
    page = superuser_client.get(reverse("admin:analysis_analysisrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert "question tables" in page.content.decode()


# --- the management command ----------------------------------------------------------------------


def test_the_command_runs_the_analysis_here_without_a_broker_and_prints_progress(ipb, eager):
    submit(ipb, 4)
    out = io.StringIO()
    call_command("analysis_run", ipb.slug, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("analysis run #") and lines[0].endswith(": queued")
    assert any(line.strip().startswith("100%") for line in lines)
    assert lines[-1].startswith("done: 4 collected")
    assert runs_of(ipb).get().status == Status.DONE


def test_the_command_refuses_an_unknown_slug(db, eager):
    with pytest.raises(CommandError, match="no-such-survey"):
        call_command("analysis_run", "no-such-survey")


def test_the_command_with_workers_queues_the_run_and_gives_up_waiting_at_the_timeout(ipb, sent):
    out = io.StringIO()
    with pytest.raises(CommandError, match="did not finish within 1 s"):
        call_command("analysis_run", ipb.slug, "--wait", "--timeout", "1", stdout=out)
    assert "queued" in out.getvalue()
    assert runs_of(ipb).get().status == Status.QUEUED
