"""Team name keys lose combining marks and read small capitals as small letters (issue 39).

``challenges.team_names.name_key`` now removes nonspacing and enclosing combining
marks after NFKC (``AliceTeam`` with U+0307 COMBINING DOT ABOVE on its ``i``, or with an
accented ``i``, reads as ``AliceTeam``) and reads small capitals (U+1D00) as small letters.
Every existing team is keyed again with ``unique_name_keys``, oldest first per challenge, as
in 0008: nobody is renamed; a team whose name now reads as an older team's gets ``#<pk>`` in
its key (``manage.py check_lookalike_names`` lists such pairs). Reversing keeps the new keys
(they are unique as well).
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
        ("challenges", "0010_challenge_cowinners_confidence"),
    ]

    operations = [
        migrations.RunPython(rekey_teams, migrations.RunPython.noop, elidable=False),
    ]
