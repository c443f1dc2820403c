"""Markdown written by organizers and teams, rendered once when it is saved (issue 51).

A model keeps a text's HTML beside it in a :class:`MarkdownHtmlField` naming its source
field (``description_html = MarkdownHtmlField(source="description")``): the field renders
the source (``common.markdown.render_markdown``: markdown-it-py, linear time, sanitized by
nh3) whenever the row is saved, through a service, the console or a form alike, and reads
back as safe HTML for templates. No view renders Markdown: a page shows the stored HTML.

A save that names ``update_fields`` must name the HTML field beside its source (the field
renders only when it is written). Rows written before a field existed, or by a renderer
since changed, are rendered again by ``manage.py render_markdown`` (the migrations that
add the fields call :func:`render_stored_markdown`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils.safestring import SafeString, mark_safe

from common.markdown import render_markdown


class MarkdownHtmlField(models.TextField):
    """The sanitized HTML of the Markdown in field ``source``, written on every save."""

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, value in (("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        html = render_markdown(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, mark_safe(html))  # noqa: S308 - nh3 cleaned it
        return html

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else mark_safe(value)  # noqa: S308 - stored after nh3


def stored_html(*, value: str | None) -> SafeString:
    """A stored rendering as template-safe HTML (it was sanitized when it was saved)."""
    return mark_safe(value or "")  # noqa: S308 - a MarkdownHtmlField's value, cleaned by nh3


def render_stored_markdown(*, rows: models.QuerySet, fields: Iterable[tuple[str, str]]) -> int:
    """Render every row's ``(source, html)`` pairs again and store them (without a save, so
    no other field or timestamp moves); returns the rows written. For a migration's
    historical model as for the real one."""
    pairs = list(fields)
    sources = [source for source, _ in pairs]
    written = 0
    for row in rows.only("pk", *sources).order_by("pk").iterator(chunk_size=200):
        changes = {html: render_markdown(getattr(row, source) or "") for source, html in pairs}
        rows.model._default_manager.filter(pk=row.pk).update(**changes)
        written += 1
    return written
