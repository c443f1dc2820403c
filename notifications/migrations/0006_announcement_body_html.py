"""Announcements rendered once, when saved, and stored (issue 51: team Markdown rendered on
every view took quadratic time in the web process). The rows already stored are rendered
here with the platform's renderer (``challenges.markdown.render_stored_markdown``;
``manage.py render_markdown`` does it again after a renderer change)."""

from django.db import migrations, models

import challenges.markdown
from challenges.markdown import render_stored_markdown


def render(apps, schema_editor):
    Announcement = apps.get_model("notifications", "Announcement")
    render_stored_markdown(rows=Announcement.objects.all(), fields=[("body", "body_html")])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_mail_deliveries_as_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="announcement",
            name="body_html",
            field=challenges.markdown.MarkdownHtmlField(source="body"),
        ),
        migrations.AlterField(
            model_name="announcement",
            name="body",
            field=models.TextField(help_text="Markdown (rendered and sanitized when saved)."),
        ),
        migrations.RunPython(render, migrations.RunPython.noop, elidable=True),
    ]
