"""The import_questionnaire, export_questionnaire and demo_setup management commands."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from survey.interchange import dump_definition, load_definition
from survey.models import Question, Questionnaire, Section
from tests.conftest import EXAMPLE_DEFINITION, REPO_ROOT
from tests.survey.test_interchange import question

# These tests read messages in English (Chinese is checked in tests/test_translations.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def run(*args: str, **options: object) -> tuple[str, str]:
    if args[0] == "demo_setup":
        # Generating the 2,299 demo responses is covered by tests/test_demo_calibration.py.
        options.setdefault("responses", 0)
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, definition: dict) -> Path:
    path = tmp_path / name
    fmt = "json" if name.endswith(".json") else "yaml"
    path.write_text(dump_definition(definition, fmt=fmt), encoding="utf-8")
    return path


# --- import_questionnaire -----------------------------------------------------------------------


def test_import_prints_what_was_imported():
    out, err = run("import_questionnaire", str(EXAMPLE_DEFINITION))
    assert out == "Imported ipb-survey: 4 sections, 25 questions (draft, definition version 1)\n"
    assert err == ""
    assert Questionnaire.objects.get().status == Questionnaire.Status.DRAFT


def test_import_with_publish_opens_the_questionnaire():
    out, _err = run("import_questionnaire", str(EXAMPLE_DEFINITION), "--publish")
    assert "(open, definition version 1)" in out
    assert Questionnaire.objects.get().status == Questionnaire.Status.OPEN


def test_import_reads_json_files(tmp_path, full_definition):
    out, _err = run("import_questionnaire", str(write(tmp_path, "d.json", full_definition)))
    assert out.startswith("Imported every-feature: 2 sections, 8 questions")


def test_import_lists_every_problem_and_fails_without_importing(tmp_path, reference_definition):
    question(reference_definition, "Q4")["options"][3]["code"] = 2
    reference_definition["analysis"]["significance"] = 2
    path = write(tmp_path, "broken.yaml", reference_definition)
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"broken.yaml: not imported \(2 problems\)") as caught:
        call_command("import_questionnaire", str(path), stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert not Questionnaire.objects.exists()
    assert err.getvalue() == (
        "  sections[1].questions[2] (Q4).options: duplicate code 2\n"
        "  analysis.significance: must be a number between 0 and 1, not a number (2)\n"
    )


def test_import_of_an_existing_slug_needs_replace(tmp_path, reference_definition):
    run("import_questionnaire", str(EXAMPLE_DEFINITION))
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"not imported \(1 problem\)"):
        call_command("import_questionnaire", str(EXAMPLE_DEFINITION), stderr=err)
    assert "already exists (import with replace to update it)" in err.getvalue()

    reference_definition["title"] = "新标题"
    out, _err = run(
        "import_questionnaire", str(write(tmp_path, "d.yml", reference_definition)), "--replace"
    )
    assert out.startswith("Replaced ipb-survey: 4 sections, 25 questions (draft")
    assert Questionnaire.objects.get().title == "新标题"


def test_import_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"cannot read .*nope.yaml: No such file or directory"):
        run("import_questionnaire", str(tmp_path / "nope.yaml"))


def test_a_refused_import_exits_with_status_1_and_no_traceback(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("format: questionnaire/v1\nslug: [unclosed\n", encoding="utf-8")
    env = {**os.environ, "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_questionnaire", str(path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "line 3, column 1: " in result.stderr
    assert "CommandError: " in result.stderr
    assert "Traceback" not in result.stderr


# --- export_questionnaire -----------------------------------------------------------------------


def test_export_writes_yaml_to_stdout_by_default():
    run("import_questionnaire", str(EXAMPLE_DEFINITION))
    out, _err = run("export_questionnaire", "ipb-survey")
    assert out.startswith("format: questionnaire/v1\nslug: ipb-survey\n")
    assert "基层党员干部" in out
    assert yaml.safe_load(out) == yaml.safe_load(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))


def test_export_picks_the_format_from_the_output_extension(tmp_path, full_definition):
    run("import_questionnaire", str(write(tmp_path, "in.yaml", full_definition)))
    out, _err = run("export_questionnaire", "every-feature", "-o", str(tmp_path / "out.json"))
    assert out == f"Wrote every-feature to {tmp_path / 'out.json'} (json)\n"
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == full_definition


def test_an_explicit_format_wins_over_the_extension(tmp_path, full_definition):
    run("import_questionnaire", str(write(tmp_path, "in.yaml", full_definition)))
    run("export_questionnaire", "every-feature", "-o", str(tmp_path / "x.txt"), "--format", "json")
    text = (tmp_path / "x.txt").read_text(encoding="utf-8")
    assert text.startswith("{")
    out, _err = run("export_questionnaire", "every-feature", "--format", "json")
    assert json.loads(out) == full_definition


def test_export_of_an_unknown_slug_is_a_clear_error():
    with pytest.raises(CommandError, match="no questionnaire has the slug 'nope'"):
        run("export_questionnaire", "nope")


def test_an_exported_file_imports_again_unchanged(tmp_path):
    run("import_questionnaire", str(EXAMPLE_DEFINITION))
    run("export_questionnaire", "ipb-survey", "-o", str(tmp_path / "out.yaml"))
    exported = load_definition((tmp_path / "out.yaml").read_bytes(), filename="out.yaml")
    assert exported == load_definition(EXAMPLE_DEFINITION.read_bytes())


# --- demo_setup ---------------------------------------------------------------------------------


def test_demo_setup_loads_the_reference_questionnaire_and_an_admin(tmp_path):
    password_file = tmp_path / ".local" / "admin-password"
    out, _err = run("demo_setup", password_file=password_file)

    questionnaire = Questionnaire.objects.get(slug="ipb-survey")
    assert questionnaire.status == Questionnaire.Status.OPEN
    password = password_file.read_text(encoding="utf-8").strip()
    assert len(password) >= 20
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert "http://127.0.0.1:8000/admin/" in out
    assert "http://127.0.0.1:8000/api/v1/docs/" in out
    assert "http://127.0.0.1:8000/s/ipb-survey/" in out
    assert f"admin / {password}" in out


def test_demo_setup_a_second_time_changes_nothing_and_is_quick(
    tmp_path, django_assert_max_num_queries
):
    password_file = tmp_path / "admin-password"
    run("demo_setup", password_file=password_file)
    password = password_file.read_text(encoding="utf-8")
    counts = (Questionnaire.objects.count(), Section.objects.count(), Question.objects.count())

    with django_assert_max_num_queries(3):
        out, _err = run("demo_setup", password_file=password_file)

    assert password_file.read_text(encoding="utf-8") == password
    assert (Questionnaire.objects.count(), Section.objects.count(), Question.objects.count()) == (
        counts
    )
    assert "ipb-survey is already there (open)." in out
    assert f"admin / {password.strip()}" in out


def test_demo_setup_never_changes_an_existing_admin_password(tmp_path):
    get_user_model().objects.create_superuser("admin", "", "my own password 123")
    out, _err = run("demo_setup", password_file=tmp_path / "admin-password")
    assert get_user_model().objects.get(username="admin").check_password("my own password 123")
    assert not (tmp_path / "admin-password").exists()
    assert "admin (an existing user; its password was not changed)" in out


def test_demo_setup_leaves_an_existing_questionnaire_as_it_is(tmp_path):
    run("import_questionnaire", str(EXAMPLE_DEFINITION))
    out, _err = run("demo_setup", password_file=tmp_path / "admin-password")
    assert Questionnaire.objects.get().status == Questionnaire.Status.DRAFT
    assert "ipb-survey is already there (draft)." in out


def test_demo_setup_reuses_a_saved_password_for_a_new_admin(tmp_path):
    password_file = tmp_path / "admin-password"
    password_file.write_text("saved-earlier-password-1234\n", encoding="utf-8")
    run("demo_setup", password_file=password_file)
    assert (
        get_user_model().objects.get(username="admin").check_password("saved-earlier-password-1234")
    )


def test_the_admin_password_is_kept_under_the_repository_root(settings, tmp_path):
    from demo.management.commands.demo_setup import default_password_file

    settings.BASE_DIR = tmp_path
    assert default_password_file() == tmp_path / ".local" / "admin-password"
