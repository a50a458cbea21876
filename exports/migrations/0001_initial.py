# Exports left the analysis app: the table analysis_export stays as it is (the model names it
# in Meta.db_table), so this migration changes Django's state only, and moves the content type
# (and with it the model's permissions) from analysis to exports. No row is copied or lost.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="export").exists():
        ContentType.objects.filter(app_label=old, model="export").update(app_label=new)


def move_content_type(apps, schema_editor):
    _relabel(apps, "analysis", "exports")


def move_content_type_back(apps, schema_editor):
    _relabel(apps, "exports", "analysis")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('survey', '0007_answer_cell_statistics'),
        ('analysis', '0004_analysis_partials'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name='Export',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('responses_wide', 'Responses, one row per response'), ('responses_long', 'Responses, one row per answer'), ('tables', 'Analysis tables, one row per figure'), ('comparisons', 'Segment comparisons (segment vs rest)')], max_length=20, verbose_name='kind')),
                ('format', models.CharField(choices=[('csv', 'CSV'), ('xlsx', 'Excel (XLSX)'), ('sav', 'SPSS (.sav)')], max_length=5, verbose_name='format')),
                ('filters', models.JSONField(blank=True, default=dict, verbose_name='filters')),
                ('options', models.JSONField(blank=True, default=dict, verbose_name='options')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('expired', 'Expired')], default='queued', max_length=10, verbose_name='status')),
                ('progress', models.PositiveSmallIntegerField(default=0, verbose_name='progress (%)')),
                ('responses', models.PositiveIntegerField(blank=True, null=True, verbose_name='responses')),
                ('rows', models.PositiveIntegerField(blank=True, null=True, verbose_name='rows')),
                ('file_path', models.CharField(blank=True, default='', max_length=255, verbose_name='file')),
                ('file_name', models.CharField(blank=True, default='', max_length=200, verbose_name='file name')),
                ('size', models.BigIntegerField(blank=True, null=True, verbose_name='size (bytes)')),
                ('error', models.TextField(blank=True, default='', verbose_name='error')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('expires_at', models.DateTimeField(blank=True, null=True, verbose_name='expires')),
                ('audit_event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='survey.auditevent')),
                ('questionnaire', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exports', to='survey.questionnaire')),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='exports', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
            ],
            options={
                'verbose_name': 'export',
                'verbose_name_plural': 'exports',
                'db_table': 'analysis_export',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['status', 'expires_at'], name='export_status_expires'), models.Index(fields=['questionnaire', '-created_at'], name='export_q_created')],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed', 'expired'])), name='export_status_known'), models.CheckConstraint(condition=models.Q(('kind__in', ['responses_wide', 'responses_long', 'tables', 'comparisons'])), name='export_kind_known'), models.CheckConstraint(condition=models.Q(('format__in', ['csv', 'xlsx', 'sav'])), name='export_format_known'), models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='export_progress_le_100'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'done'), _negated=True), models.Q(('file_path', ''), _negated=True), _connector='OR'), name='export_done_has_file')],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(move_content_type, move_content_type_back, elidable=True),
    ]
