"""Helpers of the Croissant tests: an isolated mlcroissant download cache, and rows read by
mlcroissant in the form pandas gives them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def croissant_cache(monkeypatch, tmp_path: Path) -> Path:
    """mlcroissant's download and extract folders in this test's tmp_path (its cache is keyed
    by URL: a file of another test at the same address would be read instead), and no
    credentials from the environment unless the test sets them."""
    from mlcroissant._src.core import constants

    root = tmp_path / "croissant-cache"
    monkeypatch.setattr(constants, "DOWNLOAD_PATH", root / "download")
    monkeypatch.setattr(constants, "EXTRACT_PATH", root / "extract")
    monkeypatch.delenv(constants.CROISSANT_BASIC_AUTH_USERNAME, raising=False)
    monkeypatch.delenv(constants.CROISSANT_BASIC_AUTH_PASSWORD, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # requests must not use ~/.netrc
    return root


def plain(value: Any) -> Any:
    """A cell as Python compares it: text as str, missing as None, numbers as float/int."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and math.isnan(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def records_frame(records, record_set: str, columns: list[str]) -> list[tuple]:
    """mlcroissant's records of ``record_set`` as tuples in ``columns`` order."""
    from datasets.core.croissant import field_id

    keys = [field_id(record_set, c) for c in columns]
    return [tuple(plain(r[k]) for k in keys) for r in records]


def table_rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(plain(v) for v in row) for row in frame.itertuples(index=False, name=None)]
