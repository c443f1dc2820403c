"""The glyph key is unique per challenge (issue 51): added after 0018 filled it, in a migration
of its own (PostgreSQL cannot alter a table with pending trigger events from 0018's updates)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0018_team_name_glyph_keys"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="team",
            constraint=models.UniqueConstraint(
                fields=("challenge", "name_glyph_key"),
                name="team_name_glyph_key_unique_in_challenge",
            ),
        ),
    ]
