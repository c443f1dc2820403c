"""Filters of pure formatting, for any app's templates (the kinds' own page parts included):
``{% load formatting %}``. Here, at the bottom of the apps that have templates, so no
template loads a library of a layer above its own (tests/platform_tests/test_architecture.py).
The one module of ``kinds`` that imports Django (``django.template``, for ``Library``)."""

from __future__ import annotations

from django import template

from common.numbers import number_text

register = template.Library()


@register.filter
def num(value: object, digits: int = 4) -> str:
    """Every number on a page (``common.numbers``): ``{{ score|num:4 }}`` -> ``12,345.6789``,
    never ``-0.0000``; ``{{ rows|num:0 }}`` -> ``12,345``; empty for None."""
    return number_text(value, int(digits))


@register.filter
def signed(value: object, digits: int = 4) -> str:
    """A difference: ``+0.0123``, ``-0.0123``, ``0.0000`` (no sign on what rounds to zero)."""
    return number_text(value, int(digits), signed=True)


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """``0.0412`` -> ``4.1%``; empty for None; never ``-0.0%``."""
    if value is None:
        return ""
    return f"{number_text(float(value) * 100, int(digits))}%"
