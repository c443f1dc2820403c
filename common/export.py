"""CSV export that is safe to open in a spreadsheet.

Team names, notes and other user input can start with ``=``, ``+``, ``-`` or ``@``; a
spreadsheet would run such a cell as a formula (CSV / formula injection, OWASP). Every text
cell starting with one of those, or with a tab or carriage return, gets a leading single
quote. Numbers (``int``, ``float``, ``Decimal``, numpy numbers, but not ``bool``) cannot
carry a formula and are written unchanged, so a score of -0.5 stays a number.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """One cell as text, neutralized against formula injection.

    ``None`` and NaN become an empty cell; dates and datetimes ISO 8601; numbers ``str()``
    (``repr`` precision); everything else ``str()`` with a ``'`` prefix when it starts with
    ``=``, ``+``, ``-``, ``@``, tab or carriage return.
    """
    if value is None:
        return ""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if isinstance(value, numbers.Real) and math.isnan(float(value)):
            return ""
        return str(value.item() if hasattr(value, "item") else value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def rows_to_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document (RFC 4180: CRLF line ends, quotes where needed), every cell safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return buffer.getvalue()
