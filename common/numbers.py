"""Numbers as every page states them: one rule, here (the templates' ``num`` and ``signed``
filters in ``kinds/templatetags/formatting.py``, the charts' labels, the mails).

- a fixed number of decimals, with thousands separators: ``12,345.6789``; a tie rounds away
  from zero (``2.5`` with none is ``3``), as the pages' scripts do;
- never a negative zero: a value that rounds to zero has no sign (``-0.00001`` with four
  decimals is ``0.0000``, never ``-0.0000``; ``-0.04`` with one is ``0.0``);
- ``signed`` puts ``+`` before a positive value (a difference), none before zero;
- not a number: empty for ``None`` (the page says why beside it), ``—`` for NaN, ``∞`` and
  ``-∞`` for infinities.

The scores' own precision stays in the API's JSON; this is how people read them.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

DASH = "—"


def number_text(
    value: Any, digits: int = 4, *, signed: bool = False, grouping: bool = True
) -> str:
    """``value`` with ``digits`` decimals as a page shows it (see the module)."""
    if value is None or isinstance(value, bool):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return ""
    if math.isnan(number):
        return DASH
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    digits = max(int(digits), 0)
    # Half away from zero on the float's exact value, as the pages' script rounds
    # (numbers.js, toLocaleString): a tie like 2.5 reads 3 on both.
    with localcontext() as context:
        context.prec = 330 + digits  # every float's integer digits (up to 309) and decimals
        exact = Decimal(abs(number)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        text = f"{exact:{',' if grouping else ''}.{digits}f}"
    if text.strip("0.,") == "":  # rounds to zero: no sign either way
        return text
    if number < 0:
        return f"-{text}"
    return f"+{text}" if signed else text


def count_text(value: Any) -> str:
    """A count with thousands separators (``12,345``); empty for ``None``."""
    return number_text(value, 0)
