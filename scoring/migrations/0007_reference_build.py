# The trivial baseline of a task that arrives is built by a worker: a job of the lifecycle.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0005_task_kind_from_the_registry'),
        ('scoring', '0006_submission_job_fields'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReferenceBuild',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('data_version', models.PositiveIntegerField(help_text="The task's data version when queued.")),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('building', 'Building'), ('built', 'Built'), ('failed', 'Failed')], db_index=True, default='queued', max_length=16)),
                ('status_changed_at', models.DateTimeField(blank=True, null=True)),
                ('claim_token', models.CharField(blank=True, editable=False, max_length=64)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('due_at', models.DateTimeField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reference_builds', to='datasets.task')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'building'])), fields=('task',), name='one_pending_reference_build_per_task')],
            },
        ),
    ]
