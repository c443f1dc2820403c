"""Filters of pure formatting, for any app's templates (the kinds' own page parts included):
``{% load formatting %}``. Here, at the bottom of the apps that have templates, so no
template loads a library of a layer above its own (tests/platform_tests/test_architecture.py).
The one module of ``kinds`` that imports Django (``django.template``, for ``Library``)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """``0.0412`` -> ``4.1%``; empty for None."""
    if value is None:
        return ""
    return f"{float(value) * 100:.{int(digits)}f}%"
