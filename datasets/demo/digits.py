"""``digits-images``: which digit is written in a small scanned image?"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from datasets.demo.bundle import BundleSpec, prepare_out_dir, stratified_split, write_bundle
from datasets.demo.errors import DemoSourceUnavailable

SLUG = "digits-images"
IMAGE_FOLDER = "digits"
SIZE = 32  # pixels per side of the written PNG (8x8 upscaled 4x, nearest neighbour)
LEVELS = 16  # the source's grey levels are 0..16
COLUMNS = {"image": "image", "ink": "numeric"}


def build_digits_images(
    *, out_dir: Path, seed: int = 0, cache_dir: Path | None = None
) -> Path:
    """Write the ``digits-images`` classification bundle (CSV + PNGs); ``cache_dir`` is unused."""
    try:
        from PIL import Image
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DemoSourceUnavailable(f"digits-images needs scikit-learn and Pillow: {exc}") from exc
    out_dir = prepare_out_dir(out_dir=out_dir)
    digits = load_digits()
    images = np.asarray(digits.images, dtype="float64")
    labels = pd.Series(digits.target).astype(str)
    train, test = stratified_split(labels=labels, seed=seed)
    order = np.concatenate([train, test])
    width = max(5, len(str(len(order))))
    folder = out_dir / "images" / IMAGE_FOLDER
    folder.mkdir(parents=True)
    paths: list[str] = []
    for number, position in enumerate(order, start=1):
        relative = f"{IMAGE_FOLDER}/{number:0{width}d}.png"
        pixels = np.rint(255 - images[position] * 255 / LEVELS).astype("uint8")  # dark ink
        picture = Image.fromarray(pixels).resize((SIZE, SIZE), Image.Resampling.NEAREST)
        picture.save(out_dir / "images" / relative, format="PNG")
        paths.append(relative)
    frame = pd.DataFrame(
        {
            "image": paths,
            "ink": np.round(images[order].mean(axis=(1, 2)) / LEVELS, 6),
            "label": labels.to_numpy()[order],
        }
    )
    spec = BundleSpec(
        slug=SLUG,
        title="Handwritten digits (images)",
        kind="classification",
        description=_description(frame, len(train), len(test)),
        columns=COLUMNS,
        split_seed=seed,
    )
    return write_bundle(
        out_dir=out_dir, spec=spec, train=frame.iloc[: len(train)], test=frame.iloc[len(train) :],
        fmt="csv", id_prefix="dg",
    )


def _description(frame: pd.DataFrame, n_train: int, n_test: int) -> str:
    counts = frame["label"].value_counts().sort_index()
    classes = ", ".join(f"{name} ({count})" for name, count in counts.items())
    return f"""
**Source.** The Optical Recognition of Handwritten Digits data of the UCI Machine Learning
Repository (E. Alpaydin, C. Kaynak, 1998, CC BY 4.0), in the copy scikit-learn ships as
`sklearn.datasets.load_digits`: {len(frame):,} digits written by 13 people on NIST forms,
each reduced to 8x8 cells whose value 0-16 counts the inked pixels of a 4x4 block.

**Rows.** One handwritten digit: `image`, a 32x32 greyscale PNG under `images/` (the 8x8
cells scaled up 4x with nearest-neighbour, dark ink on white, 17 grey levels), and `ink`,
the share of the image that is inked (the mean cell value / 16), a simple tabular
feature derived from the same image. File names are opaque and say nothing of the digit.

**Label.** The digit, `0` to `9`, as a string class: {classes}. Metric: accuracy (macro-F1
is reported too).

**How it was built.** Every image is used. {n_train:,} train and {n_test:,} test rows,
split 70/30 stratified by digit.
"""
