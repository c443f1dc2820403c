"""Numbers as every page states them (common/numbers.py, the templates' num and signed
filters, numbers.js): decimals fixed, thousands separated, never a negative zero."""

from __future__ import annotations

import math

import pytest
from django.template import Context, Template

from common.numbers import count_text, number_text


@pytest.mark.parametrize(
    ("value", "digits", "signed", "expected"),
    [
        (12345.678912, 4, False, "12,345.6789"),
        (-12345.678912, 4, False, "-12,345.6789"),
        (-0.00001, 4, False, "0.0000"),  # never -0.0000
        (-0.04, 1, False, "0.0"),  # never -0.0
        (-0.0, 4, False, "0.0000"),
        (-0.00005001, 4, False, "-0.0001"),  # rounds away from zero: keeps its sign
        (0.5, 0, False, "1"),  # a tie rounds away from zero, as numbers.js does
        (-2.5, 0, False, "-3"),
        (1234567, 0, False, "1,234,567"),
        (1e20, 2, False, "100,000,000,000,000,000,000.00"),
        (-1.5e300, 4, False, f"{-1.5e300:,.4f}"),  # its exact digits, however many
        (0.0123, 4, True, "+0.0123"),
        (-0.0123, 4, True, "-0.0123"),
        (-0.00001, 4, True, "0.0000"),  # a zero difference has no sign
        (0.0, 3, True, "0.000"),
        (math.nan, 4, False, "—"),
        (math.inf, 4, False, "∞"),
        (-math.inf, 4, True, "-∞"),
        (None, 4, False, ""),
        ("0.25", 2, False, "0.25"),
        ("not a number", 2, False, ""),
        (True, 2, False, ""),
    ],
)
def test_number_text(value, digits, signed, expected) -> None:
    assert number_text(value, digits, signed=signed) == expected


def test_counts_have_thousands_separators() -> None:
    assert count_text(7000) == "7,000" and count_text(None) == ""


def test_the_template_filters_follow_the_same_rule() -> None:
    template = Template(
        "{% load formatting %}{{ a|num:4 }}|{{ b|signed:4 }}|{{ c|num:0 }}|{{ d|percent }}"
        "|{{ e|num }}"
    )
    text = template.render(Context({"a": -1e-7, "b": -1e-7, "c": 12345, "d": -1e-5, "e": 9876.5}))
    assert text == "0.0000|0.0000|12,345|0.0%|9,876.5000"
