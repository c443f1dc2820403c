"""Markdown written by organizers and teams, rendered to safe HTML in linear time.

The renderer is markdown-it-py (CommonMark with GitHub's tables and strikethrough): its
parser has linear-time guarantees on CommonMark's pathological inputs, where the former
renderer (Python-Markdown) took 60 s of CPU for 20,000 ``[`` (issue 51;
``bench/bench_markdown.py`` prints the time per length). Nesting is capped at
``MAX_NESTING`` levels, so no input recurses deeply. Raw HTML in the text is parsed, then
nh3 (ammonia) keeps only its safe tags and attributes; a link or an image keeps its URL
only for the schemes ``http``, ``https`` and ``mailto`` (or a relative URL), and links get
``rel="noopener noreferrer"``.

Pure (no Django): the platform renders once, when a text is saved, and stores the HTML
(``challenges.markdown.MarkdownHtmlField``); no view renders Markdown.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import nh3

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_NESTING = 20  # blocks and inlines inside one another: lists, quotes, emphasis, links
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Imported on the first render (68 modules): every process imports this module through
    # the models that store rendered text, and only a save renders (a cold command never).
    from markdown_it import MarkdownIt

    # "commonmark" with raw HTML (sanitized below, as Python-Markdown's output was), and the
    # two GitHub extensions pages use: pipe tables and ~~strikethrough~~.
    parser = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING})
    # Every link is written as a link and nh3 alone judges its URL (as it judges raw HTML's):
    # a refused scheme loses its href and keeps its text, instead of showing the Markdown.
    parser.validateLink = lambda url: True
    return parser.enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """``text`` as sanitized HTML (a ``str``; the caller marks it safe where it shows it)."""
    html = _parser().render(text or "")
    return nh3.clean(html, url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer")
