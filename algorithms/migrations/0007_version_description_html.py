"""Algorithm descriptions (algorithm.yaml) rendered once, when saved, and stored (issue 51: team Markdown rendered on
every view took quadratic time in the web process). The rows already stored are rendered
here with the platform's renderer (``challenges.markdown.render_stored_markdown``;
``manage.py render_markdown`` does it again after a renderer change)."""

from django.db import migrations

import challenges.markdown
from challenges.markdown import render_stored_markdown


def render(apps, schema_editor):
    AlgorithmVersion = apps.get_model("algorithms", "AlgorithmVersion")
    render_stored_markdown(rows=AlgorithmVersion.objects.all(), fields=[("description", "description_html")])


class Migration(migrations.Migration):
    dependencies = [
        ("algorithms", "0006_stress_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="algorithmversion",
            name="description_html",
            field=challenges.markdown.MarkdownHtmlField(source="description"),
        ),
        migrations.RunPython(render, migrations.RunPython.noop, elidable=True),
    ]
