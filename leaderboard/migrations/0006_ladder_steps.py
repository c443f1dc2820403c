"""The public board's ladder (docs/organizers/ladder.md): each entry's step on its team's ladder, and
the console's "Public board modes" (a proxy of the task)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('challenges', '0015_challenge_gate_nfr_epsilon'),
        ('datasets', '0010_task_public_board_ladder'),
        ('leaderboard', '0005_gate_verdicts'),
        ('scoring', '0008_submission_idempotency_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='LadderStep',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('mode', models.CharField(max_length=16)),
                ('key', models.CharField(max_length=400)),
                ('climbed', models.BooleanField()),
                ('shown_score', models.FloatField(blank=True, null=True)),
                ('units', models.PositiveIntegerField(default=0)),
                ('difference', models.FloatField(blank=True, null=True)),
                ('standard_error', models.FloatField(blank=True, null=True)),
                ('bayes_factor', models.FloatField(blank=True, null=True)),
                ('wins', models.PositiveIntegerField(blank=True, null=True)),
                ('bootstraps', models.PositiveIntegerField(blank=True, null=True)),
                ('decided_at', models.DateTimeField(auto_now=True)),
                ('leader', models.ForeignKey(blank=True, help_text="The entry this one was weighed against (none: the team's first).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='scoring.submission')),
                ('submission', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='ladder_step', to='scoring.submission')),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='datasets.task')),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='challenges.team')),
            ],
            options={
                'ordering': ['task', 'team', 'submission'],
                'indexes': [models.Index(fields=['task', 'team'], name='ladder_step_task_team_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('mode__in', ('plain', 'ladder', 'ladder-bootstrap'))), name='ladder_step_mode_valid')],
            },
        ),
        migrations.CreateModel(
            name='TaskBoardMode',
            fields=[
            ],
            options={
                'verbose_name': 'public board mode',
                'verbose_name_plural': 'public board modes',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('datasets.task',),
        ),
    ]
