"""On PostgreSQL, deleting a question, item or option that has answers is refused by the
database, whatever deletes it (the ORM's PROTECT check, an admin action, raw SQL), and a
deletion waits for submissions in flight on the same questionnaire.

Migration 0028 dropped the answer rows' foreign keys to these rows: their checks cost every
submission about 50 row locks. This trigger checks on the other side, once per deleted row,
and costs a submission nothing. It first takes the questionnaire row FOR UPDATE: a submission's
INSERT holds that row FOR KEY SHARE until it commits, so the deletion waits for it and then
sees its answers; a submission arriving later waits for the deletion and, finding the row's
``updated_at`` moved (the trigger moves it), is judged again against the definition without
the deleted row (survey.services.responses._store)."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION survey_refuse_answered_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner bigint;
    answered boolean;
BEGIN
    IF TG_TABLE_NAME = 'survey_question' THEN
        owner := OLD.questionnaire_id;
    ELSE
        SELECT questionnaire_id INTO owner FROM survey_question WHERE id = OLD.question_id;
    END IF;
    PERFORM 1 FROM survey_questionnaire WHERE id = owner FOR UPDATE;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM survey_answer WHERE %I = $1)', TG_ARGV[0])
        INTO answered USING OLD.id;
    IF answered THEN
        RAISE EXCEPTION 'survey: % % has answers and cannot be deleted', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    UPDATE survey_questionnaire SET updated_at = clock_timestamp() WHERE id = owner;
    RETURN OLD;
END
$$;
"""
TABLES = {"survey_question": "question_id", "survey_item": "item_id", "survey_option": "option_id"}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (a laptop's): one writer at a time, and the ORM's PROTECT check
    schema_editor.execute(FUNCTION, params=None)  # no placeholders: % is PL/pgSQL's
    for table, column in TABLES.items():
        schema_editor.execute(
            f"CREATE TRIGGER {table}_answered BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION survey_refuse_answered_delete('{column}')"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_answered ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS survey_refuse_answered_delete()")


class Migration(migrations.Migration):
    dependencies = [("survey", "0028_answer_definition_links_without_constraints")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
