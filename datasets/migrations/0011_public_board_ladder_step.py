"""The public board's fourth mode, ``ladder-step`` (decision 0068, docs/organizers/ladder.md): a
mode more to choose; every task keeps the mode it has."""

from django.db import migrations, models

import datasets.models


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0019_team_name_glyph_key_unique"),
        ("datasets", "0010_task_public_board_ladder"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="task",
            name="task_public_board_valid",
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
                    (
                        "ladder-step",
                        "ladder-step: a shown score moves only by a full step and a significant climb",
                    ),
                ],
                default=datasets.models.default_public_board,
                help_text="How participants see the public board: plain (every exact score), ladder (a shown score moves only on a significant climb), ladder-bootstrap (the DREAM bootstrap rule) or ladder-step (a full step and a significant climb). Organizers always see every exact score (docs/organizers/ladder.md).",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("public_board__in", ("plain", "ladder", "ladder-bootstrap", "ladder-step"))
                ),
                name="task_public_board_valid",
            ),
        ),
    ]
