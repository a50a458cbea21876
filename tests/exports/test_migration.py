"""Exports left the analysis app by a state-only migration: the rows of ``analysis_export``
stay where they are, and the model's content type (so its permissions) moves with it."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from exports.models import Export
from survey.interchange import load_definition
from survey.services.questionnaires import questionnaire_import
from tests.conftest import EXAMPLE_DEFINITION

BEFORE = [("analysis", "0004_analysis_partials"), ("exports", None)]
AFTER = [("analysis", "0005_export_moved_to_exports"), ("exports", "0001_initial")]


def _migrate(targets: list[tuple[str, str | None]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    nodes = [target for target in targets if target[1] is not None]
    return executor.loader.project_state(nodes).apps


@pytest.fixture
def latest_schema_after():
    """Leave the database at the newest migrations, whatever the test migrated to: later
    tests need every column (the analysis app has migrations after AFTER's)."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_moving_export_to_its_app_keeps_every_row_and_the_permissions():
    definition = load_definition(EXAMPLE_DEFINITION.read_bytes(), filename=EXAMPLE_DEFINITION.name)
    questionnaire = questionnaire_import(definition=definition)
    old_apps = _migrate(BEFORE)
    OldExport = old_apps.get_model("analysis", "Export")
    OldContentType = old_apps.get_model("contenttypes", "ContentType")
    old_type, _ = OldContentType.objects.get_or_create(app_label="analysis", model="export")
    ids = [
        OldExport.objects.create(
            questionnaire_id=questionnaire.pk, kind="responses_wide", format=fmt, status="queued"
        ).pk
        for fmt in ("csv", "xlsx", "sav")
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analysis_export")
        (before,) = cursor.fetchone()

    _migrate(AFTER)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analysis_export")
        (after,) = cursor.fetchone()
    assert after == before == 3
    assert sorted(Export.objects.values_list("pk", flat=True)) == sorted(ids)
    assert set(Export.objects.values_list("format", flat=True)) == {"csv", "xlsx", "sav"}
    moved = ContentType.objects.get(pk=old_type.pk)
    assert (moved.app_label, moved.model) == ("exports", "export")
    assert not ContentType.objects.filter(app_label="analysis", model="export").exists()
