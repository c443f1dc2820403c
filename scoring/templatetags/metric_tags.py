"""Metric names for pages: their label, what they measure where the label could mislead,
and which way is better (kinds.metrics)."""

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
def metric_description(name: str) -> str:
    """What the metric measures (a column's tooltip); "" for most metrics."""
    return metric_info(str(name)).description


@register.filter
def metric_arrow(name: str) -> SafeString:
    """``↑`` or ``↓`` with a tooltip saying whether higher or lower is better (OPIS: "lower
    is more consistent")."""
    info = metric_info(str(name))
    return format_html(
        '<span class="direction {}" title="{} is {}" data-direction="{}">{}</span>',
        info.direction,
        info.direction,
        info.better_means,
        info.direction,
        "↑" if info.higher_is_better else "↓",
    )
