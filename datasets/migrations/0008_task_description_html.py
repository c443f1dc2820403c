"""Task descriptions (task.yaml) rendered once, when saved, and stored (issue 51: team Markdown rendered on
every view took quadratic time in the web process). The rows already stored are rendered
here with the platform's renderer (``challenges.markdown.render_stored_markdown``;
``manage.py render_markdown`` does it again after a renderer change)."""

from django.db import migrations

import challenges.markdown
from challenges.markdown import render_stored_markdown


def render(apps, schema_editor):
    Task = apps.get_model("datasets", "Task")
    render_stored_markdown(rows=Task.objects.all(), fields=[("description", "description_html")])


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0007_task_gate_nfr_epsilon"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="description_html",
            field=challenges.markdown.MarkdownHtmlField(source="description"),
        ),
        migrations.RunPython(render, migrations.RunPython.noop, elidable=True),
    ]
