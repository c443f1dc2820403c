"""Coerce raw column values (CSV strings or native Parquet types) to text, numbers or 0/1.

The functions work on Arrow arrays, one batch at a time, with Arrow's compute kernels; only
the rare values Arrow parses differently from pandas (numbers with spaces, booleans,
non-integral floats as text, dates) go through pandas, one batch at a time. The results are
the ones the pandas rules gave:

- text: integral floats lose their ``.0`` (decided for the whole column: ``integral``), an
  empty string is missing, NaN is missing;
- numbers: what ``pandas.to_numeric(errors="coerce")`` accepts, booleans as 0.0/1.0;
- 0/1: numbers equal to 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import one_array

TEXT = pa.string()
FLOAT = pa.float64()


def plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array, dictionaries decoded, large strings as strings."""
    values = one_array(values)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_large_string(values.type):
        values = values.cast(TEXT)
    return values


def is_stringlike(values: pa.Array) -> bool:
    return pa.types.is_string(values.type) or pa.types.is_large_string(values.type)


def is_float(values: pa.Array) -> bool:
    return pa.types.is_floating(values.type)


def is_number(values: pa.Array) -> bool:
    """Native numbers (not booleans): always numeric, never parsed."""
    return pa.types.is_integer(values.type) or pa.types.is_floating(values.type)


def is_null_type(values: pa.Array) -> bool:
    return pa.types.is_null(values.type)


def missing(values: pa.Array) -> pa.Array:
    """True where a value is missing: null, NaN, or an empty string."""
    values = plain(values)
    mask = pc.is_null(values, nan_is_null=True)
    if is_stringlike(values):
        mask = pc.or_(mask, pc.fill_null(pc.equal(pc.binary_length(values), 0), False))
    return mask


def float_integral(values: pa.Array) -> bool:
    """True when every non-missing float is finite and whole (the text drops ``.0``)."""
    values = plain(values)
    present = pc.drop_null(pc.if_else(pc.is_nan(values), None, values))
    if len(present) == 0:
        return True
    finite = pc.all(pc.is_finite(present)).as_py()
    return bool(finite) and bool(pc.all(pc.equal(present, pc.round(present))).as_py())


def as_text(values: pa.Array, *, integral: bool | None = None) -> pa.Array:
    """Values as ``string`` with nulls for missing ones, as pandas' ``astype("string")`` gave.

    ``integral`` (for floats) says whether the whole column is integral; None computes it on
    ``values`` alone.
    """
    values = plain(values)
    if is_stringlike(values):
        empty = pc.equal(pc.binary_length(values), 0)
        if not pc.any(empty).as_py():
            return values  # no copy: ids and labels are held whole
        return pc.if_else(empty, None, values)
    if is_null_type(values):
        return pa.nulls(len(values), TEXT)
    if pa.types.is_integer(values.type):
        return values.cast(TEXT)
    if is_float(values):
        if integral is None:
            integral = float_integral(values)
        if integral:
            cleaned = pc.if_else(pc.is_nan(values), None, values)
            return cleaned.cast(pa.int64()).cast(TEXT)
    return _pandas_text(values)


def _pandas_text(values: pa.Array) -> pa.Array:
    import pandas as pd  # the rare values only: every process imports this module

    series = values.to_pandas()
    if pd.api.types.is_float_dtype(series):
        present = series.dropna()
        if np.isfinite(present).all() and (present == present.round()).all():
            series = series.astype("Int64")
    text = series.astype("string")
    text = text.mask(text == "")
    return pa.array(text.to_numpy(dtype=object, na_value=None), type=TEXT)


def as_numbers(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(float64 values with nulls, a mask of the present values that are not numbers)``."""
    values = plain(values)
    if pa.types.is_boolean(values.type) or is_number(values) or is_null_type(values):
        numbers = values.cast(FLOAT)
        numbers = pc.if_else(pc.is_nan(numbers), None, numbers)
        return numbers, pa.array(np.zeros(len(values), dtype=bool))
    text = as_text(values)
    try:
        numbers = text.cast(FLOAT)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import pandas as pd  # the rare values only: every process imports this module

        series = pd.Series(text.to_numpy(zero_copy_only=False), dtype="string")
        parsed = pd.to_numeric(series, errors="coerce").astype("float64")
        numbers = pa.array(parsed.to_numpy(), from_pandas=True)
    numbers = pc.if_else(pc.is_nan(numbers), None, numbers)
    return numbers, pc.and_(pc.is_valid(text), pc.is_null(numbers))


def as_zero_one(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(values as int64 0/1 with nulls elsewhere, a mask of present values not 0 or 1)``
    (missing: null, NaN or empty, as :func:`missing` says)."""
    numbers, _ = as_numbers(values)
    ok = pc.fill_null(pc.is_in(numbers, value_set=pa.array([0.0, 1.0])), False)
    ints = pc.if_else(ok, numbers, None).cast(pa.int64())
    return ints, pc.and_(pc.invert(ok), pc.invert(missing(values)))
