"""Write valid and broken organizer bundles (docs/architecture.md §4) for tests.

The default bundles are valid; every keyword bends one part of them::

    write_classification_bundle(tmp_path / "b")                        # valid, CSV
    write_matching_bundle(tmp_path / "b", fmt="parquet", images=True)  # valid, with images
    write_classification_bundle(tmp_path / "b", task={"slug": "Bad Slug", "title": DROP})
    write_classification_bundle(tmp_path / "b", train=lambda df: df.drop(columns="label"))
    write_classification_bundle(tmp_path / "b", files={"test.csv": None, "x.txt": "hi"})
    zip_bundle(folder, tmp_path / "b.zip", prefix="my-task/")

``task`` values replace task.yaml keys (``DROP`` removes one); ``train``/``test``/``solution``
take a DataFrame or a function of the default one; ``files`` writes raw files last (bytes or
text, ``None`` deletes). Image bundles reference ``photos/p0.png`` .. ``photos/p4.png`` and
``top.png``, and also hold an unreferenced ``unused.png``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from PIL import Image

DROP = object()
Frame = pd.DataFrame | Callable[[pd.DataFrame], pd.DataFrame] | None
WORDS = ("quick", "lazy", "bright", "silent", "rapid", "gentle", "odd", "brave")
CLASSES = ("bird", "cat", "dog")


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: int = 4) -> bytes:
    """A tiny valid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def image_path(i: int) -> str:
    """The image a row references: five in ``photos/``, one at the top of ``images/``."""
    return "top.png" if i % 6 == 5 else f"photos/p{i % 6}.png"


def default_images() -> dict[str, bytes]:
    """The files of ``images/`` in an image bundle (``unused.png`` is never referenced)."""
    files = {image_path(i): png_bytes((40 * i % 255, 90, 120)) for i in range(6)}
    files["unused.png"] = png_bytes((0, 0, 0))
    return files


def _text(i: int) -> str:
    return f"{WORDS[i % 8]} {WORDS[(i // 8) % 8]} item number {i}"


def classification_frames(rows: int = 60, *, images: bool = False) -> dict[str, pd.DataFrame]:
    """Default train/test/solution: text, numeric (one missing), categorical, [image]."""

    def features(n: int, offset: int) -> dict[str, list[Any]]:
        idx = range(offset, offset + n)
        columns: dict[str, list[Any]] = {
            "title": [_text(i) for i in idx],
            "price": [None if i == 3 else round(i * 1.5 + 0.25, 2) for i in idx],
            "color": [None if i == 4 else ("red", "green", "blue")[i % 3] for i in idx],
        }
        if images:
            columns["photo"] = [image_path(i) for i in idx]
        return columns

    tests = max(rows // 2, 2)
    train = pd.DataFrame(
        {
            "id": [f"c{i:04d}" for i in range(rows)],
            **features(rows, 0),
            "label": [CLASSES[i % 3] for i in range(rows)],
        }
    )
    test_ids = [f"t{i:04d}" for i in range(tests)]
    test = pd.DataFrame({"id": test_ids, **features(tests, rows)})
    solution = pd.DataFrame({"id": test_ids, "label": [CLASSES[i % 3] for i in range(tests)]})
    return {"train": train, "test": test, "solution": solution}


def matching_frames(rows: int = 60, *, images: bool = False) -> dict[str, pd.DataFrame]:
    """Default candidate pairs: name (text), price (numeric), brand (categorical), [image]."""

    def features(n: int, offset: int) -> dict[str, list[Any]]:
        columns: dict[str, list[Any]] = {}
        for side, shift in (("left", 0), ("right", 1)):
            idx = [i + shift * (i % 3 != 0) for i in range(offset, offset + n)]
            columns[f"{side}_name"] = [_text(i) for i in idx]
            columns[f"{side}_price"] = [float(i % 17) for i in idx]
            columns[f"{side}_brand"] = [("acme", "globex", "initech")[i % 3] for i in idx]
            if images:
                columns[f"{side}_image"] = [image_path(i) for i in idx]
        return columns

    tests = max(rows // 2, 2)
    train = pd.DataFrame(
        {
            "id": [f"m{i:04d}" for i in range(rows)],
            **features(rows, 0),
            "label": [int(i % 3 == 0) for i in range(rows)],
        }
    )
    test_ids = [f"u{i:04d}" for i in range(tests)]
    test = pd.DataFrame({"id": test_ids, **features(tests, rows)})
    solution = pd.DataFrame({"id": test_ids, "label": [int(i % 3 == 0) for i in range(tests)]})
    return {"train": train, "test": test, "solution": solution}


def regression_frames(rows: int = 60, *, images: bool = False) -> dict[str, pd.DataFrame]:
    """Default rows of a number to predict: ``label`` ~ 2.5 x size + a word's effect + noise,
    with text, numeric (one missing) and categorical features."""
    rng = np.random.default_rng(7)

    def frame(n: int, offset: int, prefix: str) -> pd.DataFrame:
        idx = np.arange(offset, offset + n)
        size = np.round(rng.uniform(0, 10, n), 2)
        color = np.array(["red", "green", "blue"])[idx % 3]
        label = np.round(2.5 * size + (color == "red") * 4.0 + rng.normal(0, 1, n), 3)
        return pd.DataFrame(
            {
                "id": [f"{prefix}{i:04d}" for i in idx],
                "title": [_text(int(i)) for i in idx],
                "size": [None if i == 3 else s for i, s in zip(idx, size, strict=True)],
                "color": color,
                "label": label,
            }
        )

    tests = max(rows // 2, 2)
    train = frame(rows, 0, "r")
    test = frame(tests, rows, "q")
    return {
        "train": train,
        "test": test.drop(columns="label"),
        "solution": test[["id", "label"]],
    }


def write_regression_bundle(path: Path, **overrides: Any) -> Path:
    """A valid regression bundle at ``path``, bent by ``overrides`` (see the module doc)."""
    return _write(path, "regression", regression_frames, **overrides)


def write_classification_bundle(path: Path, **overrides: Any) -> Path:
    """A valid classification bundle at ``path``, bent by ``overrides`` (see the module doc)."""
    return _write(path, "classification", classification_frames, **overrides)


def write_matching_bundle(path: Path, **overrides: Any) -> Path:
    """A valid matching bundle at ``path``, bent by ``overrides`` (see the module doc)."""
    return _write(path, "matching", matching_frames, **overrides)


def _write(
    path: Path,
    kind: str,
    make_frames: Callable[..., dict[str, pd.DataFrame]],
    *,
    fmt: str = "csv",
    rows: int = 60,
    images: bool = False,
    task: Mapping[str, Any] | None = None,
    train: Frame = None,
    test: Frame = None,
    solution: Frame = None,
    files: Mapping[str, bytes | str | None] | None = None,
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "slug": f"demo-{kind}",
        "title": f"Demo {kind}",
        "kind": kind,
        "description": f"A small **{kind}** task for tests.",
    }
    for key, value in (task or {}).items():
        if value is DROP:
            spec.pop(key, None)
        else:
            spec[key] = value
    (path / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    frames = make_frames(rows, images=images)
    for part, override in (("train", train), ("test", test), ("solution", solution)):
        frame = frames[part]
        if isinstance(override, pd.DataFrame):
            frame = override
        elif override is not None:
            frame = override(frame.copy())
        write_table(frame, path / f"{part}.{fmt}")
    if images:
        for name, data in default_images().items():
            (path / "images" / name).parent.mkdir(parents=True, exist_ok=True)
            (path / "images" / name).write_bytes(data)
    for name, content in (files or {}).items():
        target = path / name
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return path


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or Parquet depending on ``path``'s suffix, without the index."""
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def zip_bundle(folder: Path, zip_path: Path, *, prefix: str = "") -> Path:
    """Zip ``folder``'s files (sorted) as ``prefix + relative path``; returns ``zip_path``."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(file, prefix + file.relative_to(folder).as_posix())
    return zip_path


def write_zip(zip_path: Path, members: Mapping[str, bytes | str]) -> Path:
    """A zip with exactly these member names and contents (for hostile archives)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return zip_path
