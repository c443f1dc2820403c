"""Method write-ups rendered once, when saved, and stored (issue 51: team Markdown rendered on
every view took quadratic time in the web process). The rows already stored are rendered
here with the platform's renderer (``challenges.markdown.render_stored_markdown``;
``manage.py render_markdown`` does it again after a renderer change)."""

from django.db import migrations

import challenges.markdown
from challenges.markdown import render_stored_markdown


def render(apps, schema_editor):
    MethodWriteup = apps.get_model("standings", "MethodWriteup")
    render_stored_markdown(rows=MethodWriteup.objects.all(), fields=[("body", "body_html")])


class Migration(migrations.Migration):
    dependencies = [
        ("standings", "0002_finalstandings_public_canonical"),
    ]

    operations = [
        migrations.AddField(
            model_name="methodwriteup",
            name="body_html",
            field=challenges.markdown.MarkdownHtmlField(source="body"),
        ),
        migrations.RunPython(render, migrations.RunPython.noop, elidable=True),
    ]
