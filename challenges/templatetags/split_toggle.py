"""``{% split_toggle split private_visible "board" %}``: the link from a board's split to the
other one, shown only to a reader who may see the private split (the one rule:
:func:`challenges.split_access.reader_split`, whose ``ReaderSplit`` gives both).

``noun`` names what the page shows ("board", "standings", "rows"): the link reads "Show the
private board". ``separator`` is printed after the link when it is shown (the pages that
list more links after it); ``hidden`` is a note shown instead when it is not; ``query`` is
added to the link (a board's ``&phase=<slug>``: the other split of the same phase).
"""

from __future__ import annotations

from typing import Any

from django import template

from challenges.split_access import PRIVATE, PUBLIC

register = template.Library()


@register.inclusion_tag("challenge_platform/_split_toggle.html")
def split_toggle(
    split: str,
    private_visible: bool,
    noun: str,
    *,
    separator: str = "",
    hidden: str = "",
    query: str = "",
) -> dict[str, Any]:
    return {
        "other": PRIVATE if split == PUBLIC else PUBLIC,
        "shown": bool(private_visible),
        "noun": noun,
        "separator": separator,
        "hidden": hidden,
        "query": query,
    }
