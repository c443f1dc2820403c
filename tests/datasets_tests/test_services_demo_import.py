"""Every demo bundle (real public data) imports through ``task_import``, as an upload would."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from datasets.services import task_import
from testkit.demo_data import DemoBundle, demo_slugs

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def read_part(folder: Path, part: str) -> pd.DataFrame:
    csv, parquet = folder / f"{part}.csv", folder / f"{part}.parquet"
    if csv.exists():
        return pd.read_csv(csv, dtype=str, keep_default_na=False)
    return pd.read_parquet(parquet)


@pytest.mark.parametrize("demo_bundle", demo_slugs(), indirect=True)
def test_demo_bundle_imports_with_its_rows_kind_and_classes(demo_bundle: DemoBundle) -> None:
    folder = demo_bundle.path
    spec = yaml.safe_load((folder / "task.yaml").read_text(encoding="utf-8"))
    train, test, solution = (read_part(folder, p) for p in ("train", "test", "solution"))

    task = task_import(source=folder, challenge_slug="demo", track_slug=demo_bundle.track_slug)

    assert task.slug == demo_bundle.slug == spec["slug"]
    assert task.kind == spec["kind"]
    # A grouping task (matching as sets) sits in the matching track; regression in its own.
    assert {"grouping": "matching"}.get(task.kind, task.kind) == demo_bundle.track_slug
    assert (task.train_rows, task.test_rows) == (len(train), len(test))
    assert task.card["rows"] == {"train": len(train), "test": len(test)}
    labels = {str(v) for v in pd.concat([train["label"], solution["label"]])}
    if task.kind == "matching":
        assert task.classes == ["0", "1"] and labels == {"0", "1"}
        assert task.primary_metric == "f1"
        assert all(c["name"].startswith(("left_", "right_")) for c in task.columns)
    elif task.kind == "regression":
        assert task.classes == [] and task.primary_metric == "rmse"
        assert task.card["label_distribution"]["count"] == len(train)
        assert pd.to_numeric(solution["label"]).notna().all()
    elif task.kind == "grouping":
        assert task.classes == [] and task.primary_metric == "pairwise_f1"
        assert task.card["entities"]["records"] == len(train)
        assert set(train["label"]).isdisjoint(set(solution["label"]))
    else:
        assert task.classes == sorted(labels) and len(task.classes) >= 2
        assert task.primary_metric == "accuracy"
    declared = spec.get("columns") or {}
    assert {c["name"]: c["type"] for c in task.columns} == declared
    assert task.description and task.title == spec["title"]
    assert bool(task.images_zip) == ("image" in declared.values())
    assert task.solution and task.train_csv and task.test_parquet
