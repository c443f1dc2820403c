"""``manage.py render_markdown``: render every stored Markdown text again and store its HTML.

Pages show the HTML stored when a text was saved (``challenges.markdown``); after a
change of the renderer or of its sanitizer, this brings every stored rendering up to date.
Each text costs linear time (``bench/bench_markdown.py``)."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand

from challenges.markdown import MarkdownHtmlField, render_stored_markdown


class Command(BaseCommand):
    help = "Render every stored Markdown text (descriptions, rules, write-ups...) again."

    def handle(self, *args, **options) -> None:
        for model in apps.get_models():
            pairs = [
                (field.source, field.attname)
                for field in model._meta.concrete_fields
                if isinstance(field, MarkdownHtmlField)
            ]
            if pairs:
                rows = render_stored_markdown(rows=model._default_manager.all(), fields=pairs)
                self.stdout.write(f"{model._meta.label}: {rows} rendered")
