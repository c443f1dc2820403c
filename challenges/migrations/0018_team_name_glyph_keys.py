"""Team names compared as a person reads them (issue 51).

``challenges.team_names.name_key`` is now the UTS #39 skeleton of the case-folded
NFKC name with punctuation, dashes and the tatweel folded (``ALICETEAM``, ``Alice-Team`` and
``Alice\\u0640Team`` read as ``AliceTeam``; Cyrillic ``є`` as ``e``), and ``name_glyph_key``
keeps the skeleton taken before case folding (a capital I among small letters reads as l).
Every existing team gets both keys with ``unique_name_keys``, oldest first per challenge, as
in 0008 and 0011: nobody is renamed; a team whose name now reads as an older team's gets
``#<pk>`` in the key it shares (``manage.py check_lookalike_names`` lists such pairs).
Reversing keeps the new keys (they are unique as well). The unique constraint is added by
0019, in its own transaction: PostgreSQL refuses to alter a table whose rows this migration
updated while their deferred foreign-key checks are still pending.
"""

from django.db import migrations, models

from challenges.team_names import name_glyph_key, name_key, unique_name_keys


def rekey_teams(apps, schema_editor):
    Team = apps.get_model("challenges", "Team")
    rows = list(
        Team.objects.order_by("challenge_id", "created_at", "pk").values_list(
            "pk", "challenge_id", "name"
        )
    )
    keys = unique_name_keys(teams=rows, key=name_key)
    glyph_keys = unique_name_keys(teams=rows, key=name_glyph_key)
    # Two passes, so a new key never meets an old key still held by another row.
    for pk in keys:
        Team.objects.filter(pk=pk).update(name_key=f"~rekey~{pk}", name_glyph_key=f"~{pk}")
    for pk, key in keys.items():
        Team.objects.filter(pk=pk).update(name_key=key, name_glyph_key=glyph_keys[pk])


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0017_markdown_rendered_on_save"),
    ]

    operations = [
        migrations.AddField(
            model_name="team",
            name="name_glyph_key",
            field=models.CharField(default="", editable=False, max_length=160),
        ),
        migrations.RunPython(rekey_teams, migrations.RunPython.noop, elidable=False),
    ]
