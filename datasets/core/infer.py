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
from typing import TYPE_CHECKING

import pyarrow as pa

from datasets.core.profile import IMAGE_EXTENSIONS, ColumnProfile
from datasets.core.scan import CATEGORICAL_MIN_DISTINCT, CATEGORICAL_SHARE

if TYPE_CHECKING:  # a cold command (import_task) never imports pandas: record 0038
    import pandas as pd

__all__ = ["IMAGE_EXTENSIONS", "infer_from_profile", "infer_type"]

CATEGORICAL_MAX_MEAN_LENGTH = 40


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
    return infer_from_profile(profile=profile, exists=image_exists)


def infer_from_profile(*, profile: ColumnProfile, exists: Callable[[str], bool] | None) -> str:
    """``numeric``, ``image``, ``categorical`` or ``text`` for a column gathered in one
    profile (the rules above)."""
    if profile.present == 0:
        return "text"
    if profile.all_numeric:
        return "numeric"
    probes = profile.probes.values() if profile.probes is not None else None
    if (
        exists is not None
        and profile.image_like
        and probes is not None
        and any(exists(path) for path in probes.to_pylist()[:1000])
    ):
        return "image"
    distinct = profile.distinct.values() if profile.distinct is not None else None
    limit = max(CATEGORICAL_MIN_DISTINCT, CATEGORICAL_SHARE * profile.present)
    mean_length = profile.text_length / profile.present
    if (
        distinct is not None
        and len(distinct) <= limit
        and mean_length <= CATEGORICAL_MAX_MEAN_LENGTH
    ):
        return "categorical"
    return "text"
