# Export moved to the exports app (exports/0001_initial): state only, the table stays.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('analysis', '0004_analysis_partials'),
        ('exports', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Export')],
        ),
    ]
