"""Guess a feature column's type when ``task.yaml`` does not declare it.

Rules, in order, over the column's non-missing values in train and test together:
- ``numeric``: every value is a number (native Parquet numbers, or text that parses as one);
- ``image``: every value ends with an image extension and at least one names a file under
  ``images/`` (the image checks then report the missing ones);
- ``categorical``: at most ``max(20, 5% of the values)`` distinct values, mean length <= 40;
- ``text``: everything else, including an entirely empty column.

The bundle check decides from a :class:`~datasets.core.profile.ColumnProfile` gathered in
its one pass over the files; :func:`infer_type` applies the same rules to a pandas Series.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa

from datasets.core.profile import IMAGE_EXTENSIONS, ColumnProfile
from datasets.core.validate import infer_from_profile

__all__ = ["IMAGE_EXTENSIONS", "infer_type"]


def infer_type(values: pd.Series, *, image_exists: Callable[[str], bool] | None) -> str:
    """Return ``numeric``, ``image``, ``categorical`` or ``text`` for ``values``.

    ``image_exists`` tells whether a path exists under ``images/``; None when there is no
    ``images/`` folder, in which case a column is never inferred to be an image column.
    """
    profile = ColumnProfile(distinct_cap=max(20, len(values)))
    if len(values):
        try:
            raw = pa.array(values.to_numpy(dtype=object), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python types: compare as text
            raw = pa.array(values.astype("string").to_numpy(dtype=object, na_value=None))
        profile.add(raw)
    return infer_from_profile(profile, image_exists)
