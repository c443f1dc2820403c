"""Filters that show robustness figures (docs/organizers/stress.md): ``{% load stress_tags %}``, on
the run pages of this app and on the boards above it (a library loaded from a higher layer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def ratio(value: float | None) -> str:
    """``0.9312`` -> ``0.93``; a dash for None."""
    return "—" if value is None else f"{float(value):.2f}"


@register.filter
def robustness_title(robustness: Mapping[str, Any] | None) -> str:
    """One line per family for a tooltip: ``typos: ratio 0.84, 12.0% flipped (400 copies)``,
    the worst first, then what was skipped and why."""
    if not robustness:
        return ""
    families = robustness.get("families") or {}
    ordered = sorted(
        families.items(),
        key=lambda item: (item[1].get("ratio") is None, item[1].get("ratio") or 0.0, item[0]),
    )
    lines = [
        f"Score on perturbed copies ÷ clean score on their originals ({robustness.get('split')}"
        " rows); 1 = unaffected"
    ]
    for name, figures in ordered:
        flips = figures.get("flip_rate")
        flipped = "" if flips is None else f", {flips * 100:.1f}% flipped"
        lines.append(
            f"{name}: ratio {ratio(figures.get('ratio'))}{flipped} ({figures.get('rows')} copies)"
        )
    for name, why in (robustness.get("skipped") or {}).items():
        lines.append(f"{name}: skipped ({why})")
    return "\n".join(lines)
