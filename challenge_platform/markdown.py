"""Markdown for text written by organizers and teams: rendered, then sanitized with nh3."""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe


def markdown_html(text: str) -> SafeString:
    """Markdown rendered to HTML, then sanitized with nh3 (no script, no event handlers)."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(nh3.clean(html))  # noqa: S308 - nh3 removed everything unsafe
