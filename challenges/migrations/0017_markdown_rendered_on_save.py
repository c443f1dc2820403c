"""Challenge descriptions and rules, and track prizes, rendered once, when saved, and stored (issue 51: team Markdown rendered on
every view took quadratic time in the web process). The rows already stored are rendered
here with the platform's renderer (``challenges.markdown.render_stored_markdown``;
``manage.py render_markdown`` does it again after a renderer change)."""

from django.db import migrations

import challenges.markdown
from challenges.markdown import render_stored_markdown


def render(apps, schema_editor):
    Challenge = apps.get_model("challenges", "Challenge")
    Track = apps.get_model("challenges", "Track")
    pairs = [("description", "description_html"), ("rules", "rules_html")]
    render_stored_markdown(rows=Challenge.objects.all(), fields=pairs)
    render_stored_markdown(rows=Track.objects.all(), fields=[("prize", "prize_html")])


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0016_challenge_gate_verdict_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="challenge",
            name="description_html",
            field=challenges.markdown.MarkdownHtmlField(source="description"),
        ),
        migrations.AddField(
            model_name="challenge",
            name="rules_html",
            field=challenges.markdown.MarkdownHtmlField(source="rules"),
        ),
        migrations.AddField(
            model_name="track",
            name="prize_html",
            field=challenges.markdown.MarkdownHtmlField(source="prize"),
        ),
        migrations.RunPython(render, migrations.RunPython.noop, elidable=True),
    ]
