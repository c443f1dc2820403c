"""Team name keys become confusable skeletons (issue 25: UTS #39, whitespace folded).

Every existing team is keyed again with ``challenges.team_names.unique_name_keys``,
oldest first per challenge: nobody is renamed; a team whose name now reads as an older
team's gets ``#<pk>`` in its key (``manage.py check_lookalike_names`` lists such pairs for
the organizers). Reversing keeps the new keys (they are unique as well).
"""

from django.db import migrations

from challenges.team_names import unique_name_keys


def rekey_teams(apps, schema_editor):
    Team = apps.get_model("challenges", "Team")
    rows = Team.objects.order_by("challenge_id", "created_at", "pk").values_list(
        "pk", "challenge_id", "name"
    )
    keys = unique_name_keys(teams=list(rows))
    # Two passes, so a new key never meets an old key still held by another row.
    for pk in keys:
        Team.objects.filter(pk=pk).update(name_key=f"~rekey~{pk}")
    for pk, key in keys.items():
        Team.objects.filter(pk=pk).update(name_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0007_api_tokens_hashed"),
    ]

    operations = [
        migrations.RunPython(rekey_teams, migrations.RunPython.noop, elidable=False),
    ]
