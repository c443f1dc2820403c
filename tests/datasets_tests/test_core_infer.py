"""Type inference for undeclared columns: numeric, image, categorical, else text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from datasets.core import prepare_task
from datasets.core.infer import infer_type
from testkit.bundles import write_classification_bundle


def _infer(values: list, exists: set[str] | None = None) -> str:
    series = pd.Series(values, dtype=object)
    return infer_type(series, image_exists=None if exists is None else exists.__contains__)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2.5", "-3e4", None, " 7 "], "numeric"),
        ([1, 2, 3], "numeric"),
        (["1", "2", "1,234"] * 40 + [str(i) for i in range(100)], "text"),
        ([f"v{i % 20}" for i in range(100)], "categorical"),
        ([f"v{i % 21}" for i in range(100)], "text"),
        ([f"v{i % 50}" for i in range(1000)], "categorical"),
        ([f"v{i % 51}" for i in range(1000)], "text"),
        (["a long sentence that goes on and on, well over forty characters"] * 50, "text"),
        ([None, None], "text"),
        ([True, False, True], "categorical"),
    ],
)
def test_inference_rules(values: list, expected: str) -> None:
    assert _infer(values) == expected


def test_image_paths_need_an_images_folder_with_at_least_one_of_them() -> None:
    paths = ["a.png", "b.JPG", "c/d.webp"]
    assert _infer(paths, exists={"a.png"}) == "image"
    assert _infer(paths, exists=set()) != "image"
    assert _infer(paths) != "image"
    assert _infer([*paths, "notes.txt"], exists={"a.png"}) != "image"


def test_image_like_column_without_images_is_text_with_a_warning(tmp_path: Path) -> None:
    def filenames(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(scan=[f"scan_{i}.png" for i in range(len(df))])

    bundle = write_classification_bundle(tmp_path / "b", train=filenames, test=filenames)
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert {"name": "scan", "type": "text"} in task.meta["columns"]
    assert any("'scan' looks like image paths" in w for w in task.warnings)
