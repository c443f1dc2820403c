"""Guess a feature column's type when ``task.yaml`` does not declare it.

Rules, in order, over the column's non-missing values in train and test together:
- ``numeric``: every value is a number (native Parquet numbers, or text that parses as one);
- ``image``: every value ends with an image extension and at least one names a file under
  ``images/`` (the image checks then report the missing ones);
- ``categorical``: at most ``max(20, 5% of the values)`` distinct values, mean length <= 40;
- ``text``: everything else, including an entirely empty column.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from datasets.core.values import as_numbers, as_text

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
CATEGORICAL_MIN_DISTINCT = 20
CATEGORICAL_SHARE = 0.05
CATEGORICAL_MAX_MEAN_LENGTH = 40
SAMPLE = 1000  # a column whose first values are not all numbers is not parsed in full


def looks_like_image_paths(values: pd.Series) -> bool:
    """True when every non-missing value ends with a known image extension."""
    present = values.dropna()
    for part in (present.head(SAMPLE), present):  # most columns fail on their first values
        text = as_text(part).dropna()
        if text.empty or not text.str.lower().str.endswith(IMAGE_EXTENSIONS).all():
            return False
    return True


def infer_type(values: pd.Series, *, image_exists: Callable[[str], bool] | None) -> str:
    """Return ``numeric``, ``image``, ``categorical`` or ``text`` for ``values``.

    ``image_exists`` tells whether a path exists under ``images/``; None when there is no
    ``images/`` folder, in which case a column is never inferred to be an image column.
    """
    present = values.dropna()
    if present.empty:
        return "text"
    if not pd.api.types.is_bool_dtype(present) and as_numbers(present.head(SAMPLE))[1].empty:
        _, bad = as_numbers(present)
        if bad.empty:
            return "numeric"
    text = as_text(present).dropna()
    if (
        image_exists is not None
        and looks_like_image_paths(text)
        and any(image_exists(path) for path in text.unique()[:1000])
    ):
        return "image"
    limit = max(CATEGORICAL_MIN_DISTINCT, CATEGORICAL_SHARE * len(text))
    if text.nunique() <= limit and text.str.len().mean() <= CATEGORICAL_MAX_MEAN_LENGTH:
        return "categorical"
    return "text"
