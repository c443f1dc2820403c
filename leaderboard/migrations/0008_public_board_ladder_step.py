"""The public board's fourth mode, ``ladder-step`` (decision 0068, docs/organizers/ladder.md): a
mode more to choose; every task keeps the mode it has."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0019_team_name_glyph_key_unique"),
        ("datasets", "0011_public_board_ladder_step"),
        ("leaderboard", "0007_entry_rank_set"),
        ("scoring", "0009_reference_team_file_size"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="ladderstep",
            name="ladder_step_mode_valid",
        ),
        migrations.AddConstraint(
            model_name="ladderstep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("mode__in", ("plain", "ladder", "ladder-bootstrap", "ladder-step"))
                ),
                name="ladder_step_mode_valid",
            ),
        ),
    ]
