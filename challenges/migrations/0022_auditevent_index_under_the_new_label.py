"""The audit log's index takes the name Django derives from the table's new name
(``challenges_auditevent``, docs/decisions/0077-the-challenges-app-label.md): renamed, not
rebuilt, on a database made under either label."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0021_challenge_run_budget"),
    ]

    operations = [
        migrations.RenameIndex(
            model_name="auditevent",
            new_name="challenges__object__87fb40_idx",
            old_name="challenge_p_object__75655e_idx",
        ),
    ]
