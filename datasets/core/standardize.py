"""``standardize``: write a validated bundle as the standardized task folder.

The layout is the one of ``docs/data-contract.md``::

    task.json, card.json, train.csv, train.parquet, test.csv, test.parquet,
    images.zip (only with image columns), private/solution.parquet
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets.core.card import build_card
from datasets.core.images import write_images_zip
from datasets.core.io import write_standard
from datasets.core.split import split_public_private
from datasets.core.validate import ValidatedBundle

SOLUTION = "private/solution.parquet"


@dataclass(frozen=True)
class StandardizedTask:
    """A standardized task folder: ``files`` maps each relative name to its path."""

    out_dir: Path
    meta: Mapping[str, Any]
    card: Mapping[str, Any]
    files: Mapping[str, Path]
    warnings: tuple[str, ...] = ()


def standardize(bundle: ValidatedBundle, out_dir: Path) -> StandardizedTask:
    """Write ``bundle`` into ``out_dir`` (created; must not hold files yet)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty")
    (out_dir / "private").mkdir()
    files: dict[str, Path] = {}
    for part, frame in (("train", bundle.train), ("test", bundle.test)):
        csv_path, parquet_path = out_dir / f"{part}.csv", out_dir / f"{part}.parquet"
        write_standard(frame, csv_path, parquet_path)
        files[csv_path.name], files[parquet_path.name] = csv_path, parquet_path
    if any(kind == "image" for _, kind in bundle.columns):
        files["images.zip"] = out_dir / "images.zip"
        write_images_zip(bundle.images_dir, bundle.images, files["images.zip"])
    spec = bundle.spec
    solution = bundle.solution.assign(
        split=split_public_private(
            bundle.solution["label"], public_fraction=spec.public_fraction, seed=spec.split_seed
        )
    )
    files[SOLUTION] = out_dir / SOLUTION
    solution.to_parquet(files[SOLUTION], index=False, engine="pyarrow")
    meta = {
        "slug": spec.slug,
        "title": spec.title,
        "description": spec.description,
        "kind": spec.kind,
        "columns": [{"name": name, "type": kind} for name, kind in bundle.columns],
        "classes": list(bundle.classes),
        "primary_metric": spec.metric,
        "public_fraction": spec.public_fraction,
        "split_seed": spec.split_seed,
        "train_rows": len(bundle.train),
        "test_rows": len(bundle.test),
    }
    card = build_card(kind=spec.kind, columns=bundle.columns, train=bundle.train, test=bundle.test)
    for name, content in (("task.json", meta), ("card.json", card)):
        files[name] = out_dir / name
        files[name].write_text(_json(content), encoding="utf-8")
    return StandardizedTask(
        out_dir=out_dir, meta=meta, card=card, files=files, warnings=bundle.warnings
    )


def _json(content: Mapping[str, Any]) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
