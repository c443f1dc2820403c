"""Coerce raw column values (CSV strings or native Parquet types) to text, numbers or 0/1."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_text(values: pd.Series) -> pd.Series:
    """Values as a nullable ``string`` Series; integral floats lose their ``.0``, ``""`` is NA."""
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if np.isfinite(present).all() and (present == present.round()).all():
            values = values.astype("Int64")
    text = values.astype("string")
    return text.mask(text == "")


def as_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(float64 values, the non-missing raw values that are not numbers)``."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64"), values.iloc[0:0]
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64"), values.iloc[0:0]
    text = as_text(values)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers, text[text.notna() & numbers.isna()]


def as_binary(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(values as float 0/1 with NaN elsewhere, the raw values that are not 0 or 1)``."""
    numbers, _ = as_numbers(values)
    ok = numbers.isin([0.0, 1.0])
    return numbers.where(ok), as_text(values)[~ok]
