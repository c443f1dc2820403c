"""Metric names for pages: their label and which way is better (kinds.metrics)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kinds import metric_info

register = template.Library()


@register.filter
def metric_label(name: str) -> str:
    return metric_info(str(name)).label


@register.filter
def metric_arrow(name: str) -> SafeString:
    """``↑`` or ``↓`` with a tooltip saying whether higher or lower is better."""
    info = metric_info(str(name))
    return format_html(
        '<span class="direction {}" title="{} is better" data-direction="{}">{}</span>',
        info.direction,
        info.direction,
        info.direction,
        "↑" if info.higher_is_better else "↓",
    )
