"""CSV export safe against formula injection (no Django)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.export import FORMULA_PREFIXES, csv_safe, rows_to_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-0.5", "'-0.5"),  # a string stays text, even when it looks like a number
        ("team rocket", "team rocket"),
        ("a=b", "a=b"),
        ("", ""),
        (-0.5, "-0.5"),
        (-3, "-3"),
        (0.1, "0.1"),
        (np.float64(-0.25), "-0.25"),
        (np.int64(-7), "-7"),
        (Decimal("-1.50"), "-1.50"),
        (float("nan"), ""),
        (None, ""),
        (True, "True"),
        (datetime(2025, 3, 1, 12, 0, tzinfo=UTC), "2025-03-01T12:00:00+00:00"),
    ],
)
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


@settings(deadline=None)  # timing belongs in bench/, not in a loaded CI
@given(st.text())
def test_no_text_cell_starts_with_a_formula_character(text):
    cell = csv_safe(text)
    assert not cell.startswith(FORMULA_PREFIXES)
    assert cell in (text, "'" + text)


def test_rows_to_csv_round_trips_through_a_csv_reader():
    document = rows_to_csv(
        ["rank", "team", "score"],
        [[1, "=cmd|' /C calc'!A0", -0.5], [None, 'quote " and, comma\nnewline', 0.25]],
    )
    assert document.endswith("\r\n")
    parsed = list(csv.reader(io.StringIO(document, newline="")))
    assert parsed == [
        ["rank", "team", "score"],
        ["1", "'=cmd|' /C calc'!A0", "-0.5"],
        ["", 'quote " and, comma\nnewline', "0.25"],
    ]
