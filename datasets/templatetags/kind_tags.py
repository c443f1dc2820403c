"""The task kind's page parts in templates: ``{% include task.kind|kind_template:"submit_hint" %}``
(``kinds``: ``TaskKind.template``)."""

from __future__ import annotations

from django import template

from datasets.replace import baseline_on_new_version as sentence
from kinds import kind_get

register = template.Library()


@register.filter
def kind_template(kind: str, part: str) -> str:
    """The template of ``part`` of the kind named ``kind``."""
    return kind_get(str(kind)).template(str(part))


@register.simple_tag
def baseline_on_new_version() -> str:
    """What becomes of the AutoGluon baseline on a new data version (one sentence, the one
    ``datasets.replace.baseline_on_new_version`` gives every entry point)."""
    return sentence()
