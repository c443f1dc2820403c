"""The public board's mode (docs/organizers/ladder.md): tasks that exist keep ``plain`` (their boards
stay as their participants know them); a task created from now on starts in
``PUBLIC_BOARD_DEFAULT`` ("ladder")."""

from django.db import migrations, models

import datasets.models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0009_task_version_uploads"),
    ]

    operations = [
        # Existing rows get "plain"; the model's default for new tasks is then "ladder".
        migrations.AddField(
            model_name="task",
            name="public_board",
            field=models.CharField(default="plain", max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="task",
            name="public_board",
            field=models.CharField(
                choices=[
                    ("plain", "plain: every exact public score"),
                    ("ladder", "ladder: a shown score moves only on a significant climb"),
                    (
                        "ladder-bootstrap",
                        "ladder-bootstrap: the DREAM bootstrap rule (Bayes factor)",
                    ),
                ],
                default=datasets.models.default_public_board,
                help_text="How participants see the public board: plain (every exact score), ladder (a shown score moves only on a significant climb) or ladder-bootstrap (the DREAM bootstrap rule). Organizers always see every exact score (docs/organizers/ladder.md).",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="ladder_bootstraps",
            field=models.PositiveIntegerField(
                default=2000, help_text="ladder-bootstrap: the paired bootstraps of each decision."
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="ladder_bayes_factor",
            field=models.FloatField(
                default=3.0,
                help_text="ladder-bootstrap: a new entry climbs when its bootstrap wins over its losses exceed this (DREAM: 3).",
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(("public_board__in", ("plain", "ladder", "ladder-bootstrap"))),
                name="task_public_board_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ladder_bootstraps__gte", 100), ("ladder_bootstraps__lte", 20000)
                ),
                name="task_ladder_bootstraps_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(("ladder_bayes_factor__gte", 1)),
                name="task_ladder_bayes_factor_range",
            ),
        ),
    ]
