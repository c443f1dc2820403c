"""``{% board_row %}``: a board table's row rendered once per content, not once per view.

After a score every board page is rendered again (its cached version is bumped), but a score
changes one team's row and the places of a few others: most rows read exactly as before.
A row is rendered from its own template with only the values passed to the tag, and kept in
a process-local cache (``CACHES["board_rows"]``) under a digest of those values (every
attribute of a model or dataclass passed, recursively through lists). The key is the
content, so a kept row is never stale and nothing invalidates it; unused rows age out.

A row template must read nothing but the tag's values: pass a related object's fields
(``team_name=e.team.name``), not the relation, since relations are not part of the digest.
Measured on a 300-team board (tests pin the output): the task page's rows took most of its
150 ms render, and in the deadline rush every score made each web process render it again.
"""

from __future__ import annotations

import dataclasses
import hashlib

from django import template
from django.core.cache import InvalidCacheBackendError, caches
from django.db.models import Model
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ROW_CACHE = "board_rows"


def _signature(value: object) -> object:
    """Everything a row template can read of ``value``, as plain comparable values."""
    if isinstance(value, list | tuple):
        return tuple(_signature(v) for v in value)
    if isinstance(value, Model) or dataclasses.is_dataclass(value):
        attrs = getattr(value, "__dict__", None)
        if attrs is None:  # a slots dataclass
            attrs = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        items = sorted((k, v) for k, v in attrs.items() if not k.startswith("_"))
        return (type(value).__qualname__, tuple((k, _signature(v)) for k, v in items))
    return value


def row_key(template_name: str, values: dict[str, object]) -> str:
    signature = (template_name, tuple(sorted((k, _signature(v)) for k, v in values.items())))
    return "board-row:" + hashlib.blake2b(repr(signature).encode(), digest_size=20).hexdigest()


@register.simple_tag
def board_row(template_name: str, **values: object) -> SafeString:
    """``template_name`` rendered with ``values`` (and nothing else), from the row cache."""
    try:
        store = caches[ROW_CACHE]
    except InvalidCacheBackendError:  # settings without the alias: render every time
        store = None
    key = row_key(template_name, values) if store is not None else ""
    html = store.get(key) if store is not None else None
    if html is None:
        html = get_template(template_name).render(values)
        if store is not None:
            store.set(key, html)
    return mark_safe(html)  # noqa: S308 - rendered by an autoescaping template
