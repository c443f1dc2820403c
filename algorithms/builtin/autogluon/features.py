"""Hand-made features for the AutoGluon baseline: images (Pillow) and record pairs (rapidfuzz).

Pure functions over pandas objects; no Django, no AutoGluon.

Image features, per image column ``<col>`` (all floats, NaN when the image is missing,
unreadable or too large):

- ``<col>__px00`` .. ``<col>__px63``: the image in grayscale, downsampled to 8x8 (box
  filter), intensities scaled to [0, 1], row-major;
- ``<col>__hist00`` .. ``<col>__hist15``: 16-bin grayscale intensity histogram, as shares
  of the pixels (sums to 1);
- ``<col>__edge_density``: share of pixels whose ``ImageFilter.FIND_EDGES`` response on a
  64x64 grayscale copy exceeds 32/255;
- ``<col>__mean_r``/``__mean_g``/``__mean_b``, ``<col>__gray_mean``/``__gray_std``: colour
  and brightness statistics in [0, 1];
- ``<col>__width``, ``<col>__height``, ``<col>__aspect``: original size in pixels, and
  width / height.

Pair features, per attribute ``<a>`` with columns ``left_<a>`` and ``right_<a>`` (floats):

- ``<a>__token_set``: ``fuzz.token_set_ratio`` / 100 on lowercased, punctuation-free text;
- ``<a>__jaro_winkler``: Jaro-Winkler similarity in [0, 1] on lowercased, stripped text;
- ``<a>__exact``: 1.0 when both normalized values are equal, else 0.0;
- ``<a>__num_rel_diff``: ``|l - r| / max(|l|, |r|)`` when both sides parse as numbers
  (0 when both are 0);
- ``<a>__left_missing`` / ``<a>__right_missing``: 1.0 when that side is null or blank.

Similarities and the exact flag are NaN when either side is missing. For image attributes
the pair features are instead ``<a>__img_thumb_l1`` (mean absolute difference of the 8x8
thumbnails) and ``<a>__img_hist_inter`` (histogram intersection), plus the missing flags.
Three row summaries follow: ``pair__mean_token_set``, ``pair__mean_jaro_winkler`` and
``pair__n_exact``.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter, ImageStat
from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import JaroWinkler

THUMB_SIDE = 8
HIST_BINS = 16
EDGE_SIDE = 64
EDGE_THRESHOLD = 32
# Members larger than this (uncompressed) are treated as missing: a hostile archive could
# otherwise make us allocate gigabytes for one "image".
MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_IMAGE_PIXELS = 64_000_000

_IMAGE_STATS = (
    "edge_density",
    "mean_r",
    "mean_g",
    "mean_b",
    "gray_mean",
    "gray_std",
    "width",
    "height",
    "aspect",
)
_WS = re.compile(r"\s+")


def image_feature_names(column: str) -> list[str]:
    """Names of the features :func:`image_features` makes for one image column."""
    pixels = [f"{column}__px{i:02d}" for i in range(THUMB_SIDE * THUMB_SIDE)]
    hist = [f"{column}__hist{i:02d}" for i in range(HIST_BINS)]
    return pixels + hist + [f"{column}__{name}" for name in _IMAGE_STATS]


def describe_image(data: bytes) -> np.ndarray:
    """Feature vector of one encoded image, in :func:`image_feature_names` order.

    Raises ``OSError`` / ``ValueError`` (from Pillow) when the bytes are not an image.
    """
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ValueError(f"image too large: {width}x{height}")
        # draft() lets JPEG decode at reduced size: much faster on big photos.
        img.draft("RGB", (EDGE_SIDE * 2, EDGE_SIDE * 2))
        rgb = img.convert("RGB")
    gray = rgb.convert("L")
    thumb = np.asarray(
        gray.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX), dtype=np.float64
    ).ravel()
    hist_256 = np.asarray(gray.histogram(), dtype=np.float64)
    hist = hist_256.reshape(HIST_BINS, -1).sum(axis=1)
    hist /= max(hist.sum(), 1.0)
    small = gray.resize((EDGE_SIDE, EDGE_SIDE), Image.Resampling.BILINEAR)
    edges = np.asarray(small.filter(ImageFilter.FIND_EDGES), dtype=np.uint8)
    # FIND_EDGES leaves a one-pixel border untouched; measure the interior only.
    inner = edges[1:-1, 1:-1]
    edge_density = float((inner > EDGE_THRESHOLD).mean())
    rgb_stat = ImageStat.Stat(rgb)
    gray_stat = ImageStat.Stat(gray)
    stats = [
        edge_density,
        *(m / 255.0 for m in rgb_stat.mean),
        gray_stat.mean[0] / 255.0,
        gray_stat.stddev[0] / 255.0,
        float(width),
        float(height),
        width / height if height else math.nan,
    ]
    return np.concatenate([thumb / 255.0, hist, np.asarray(stats, dtype=np.float64)])


# Where the images are: the task's images.zip, or the folder ``/task/images`` a run gets.
ImageSource = zipfile.ZipFile | Path


def _read_member(archive: ImageSource, name: str) -> bytes | None:
    """Bytes of one archive member (or file of the images folder), or None when absent,
    oversized, a directory, or outside the folder."""
    if isinstance(archive, Path):
        return _read_file(archive, name)
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.is_dir() or info.file_size > MAX_IMAGE_BYTES:
        return None
    with archive.open(info) as fh:
        data = fh.read(MAX_IMAGE_BYTES + 1)
    return data if len(data) <= MAX_IMAGE_BYTES else None


def _read_file(folder: Path, name: str) -> bytes | None:
    parts = Path(name).parts
    if not parts or ".." in parts:
        return None
    path = folder.joinpath(*parts)
    try:
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            return None
        with open(path, "rb") as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_IMAGE_BYTES else None


def image_features(paths: pd.Series, archive: ImageSource | None, *, column: str) -> pd.DataFrame:
    """Pillow features of every image that ``paths`` names inside ``archive``.

    Images are decoded in memory (``BytesIO``); nothing is extracted. A null path, a path
    absent from the archive or an undecodable image gives a row of NaNs. Each distinct
    path is decoded once.
    """
    names = image_feature_names(column)
    out = np.full((len(paths), len(names)), np.nan, dtype=np.float64)
    cache: dict[str, np.ndarray | None] = {}
    values = paths.astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    for i, raw in enumerate(values):
        if not raw or archive is None:
            continue
        key = str(raw).replace("\\", "/").lstrip("/")
        if key not in cache:
            data = _read_member(archive, key)
            vec: np.ndarray | None = None
            if data is not None:
                try:
                    vec = describe_image(data)
                except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
                    vec = None
            cache[key] = vec
        vec = cache[key]
        if vec is not None:
            out[i] = vec
    return pd.DataFrame(out, columns=names, index=paths.index)


def typed_columns(
    frame: pd.DataFrame, types: Mapping[str, str], names: Sequence[str], archive: Any
) -> tuple[pd.DataFrame, list[str]]:
    """Columns ``names`` of ``frame`` cast to what AutoGluon should see (by their declared
    ``types``; an image column becomes its image features); returns the frame and its text
    columns."""
    parts: list[pd.DataFrame | pd.Series] = []
    text_cols: list[str] = []
    for name in names:
        ctype, col = types[name], frame[name]
        if ctype == "numeric":
            parts.append(pd.to_numeric(col, errors="coerce").astype("float64").rename(name))
        elif ctype in ("categorical", "text"):
            values = col.astype("string")
            parts.append(values.astype(object).where(values.notna(), np.nan).rename(name))
            if ctype == "text":
                text_cols.append(name)
        else:
            parts.append(image_features(col, archive, column=name))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    return out, text_cols


def open_images(path: Path) -> ImageSource | None:
    """Open ``images.zip`` read-only; else the ``images`` folder next to where it would be
    (what a run's ``/task`` holds); None when the task has neither."""
    if path.is_file():
        return zipfile.ZipFile(path)
    folder = path.with_name("images")
    return folder if folder.is_dir() else None


# --------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class PairAttribute:
    """One compared attribute: ``left_<name>`` vs ``right_<name>``."""

    name: str
    left: str
    right: str
    kind: str  # the declared column type of the left column


def pair_attributes(columns: Sequence[str], types: Mapping[str, str]) -> list[PairAttribute]:
    """Attributes that have both a ``left_`` and a ``right_`` column, in column order."""
    present = set(columns)
    attrs = []
    for col in columns:
        if col.startswith("left_") and f"right_{col[5:]}" in present:
            name = col[5:]
            attrs.append(PairAttribute(name, col, f"right_{name}", types.get(col, "text")))
    return attrs


def _normalized(values: pd.Series) -> pd.Series:
    """Lowercased, stripped, whitespace-collapsed strings; blanks become NA."""
    if pd.api.types.is_float_dtype(values.dtype):
        # 3.0 and "3" should compare equal as text: drop a trailing ".0".
        text = values.map(lambda v: None if pd.isna(v) else f"{v:g}")
    else:
        text = values
    text = text.astype("string").str.lower().str.replace(_WS, " ", regex=True).str.strip()
    return text.mask(text == "")


def _numbers(values: pd.Series) -> np.ndarray:
    """Values as float64 where they parse as finite numbers, else NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        nums = values.astype("float64").to_numpy()
    else:
        cleaned = values.astype("string").str.replace(r"[,\s$€£]", "", regex=True)
        nums = pd.to_numeric(cleaned, errors="coerce").astype("float64").to_numpy()
    return np.where(np.isfinite(nums), nums, np.nan)


def text_pair_features(
    left: pd.Series, right: pd.Series, *, name: str, workers: int = 1
) -> pd.DataFrame:
    """Similarity features of one text/categorical/numeric attribute, row by row."""
    lnorm, rnorm = _normalized(left), _normalized(right)
    lmiss = lnorm.isna().to_numpy()
    rmiss = rnorm.isna().to_numpy()
    either = lmiss | rmiss
    lstr = lnorm.fillna("").tolist()
    rstr = rnorm.fillna("").tolist()
    token_set = (
        process.cpdist(
            lstr,
            rstr,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            dtype=np.float32,
            workers=workers,
        ).astype(np.float64)
        / 100.0
    )
    jaro = process.cpdist(
        lstr, rstr, scorer=JaroWinkler.normalized_similarity, dtype=np.float32, workers=workers
    ).astype(np.float64)
    exact = (np.asarray(lstr, dtype=object) == np.asarray(rstr, dtype=object)).astype(np.float64)
    lnum, rnum = _numbers(left), _numbers(right)
    denom = np.fmax(np.abs(lnum), np.abs(rnum))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(lnum - rnum) / denom
    rel = np.where(denom == 0, 0.0, rel)
    for arr in (token_set, jaro, exact):
        arr[either] = np.nan
    return pd.DataFrame(
        {
            f"{name}__token_set": token_set,
            f"{name}__jaro_winkler": jaro,
            f"{name}__exact": exact,
            f"{name}__num_rel_diff": rel,
            f"{name}__left_missing": lmiss.astype(np.float64),
            f"{name}__right_missing": rmiss.astype(np.float64),
        },
        index=left.index,
    )


def image_pair_features(
    left: pd.Series, right: pd.Series, archive: ImageSource | None, *, name: str
) -> pd.DataFrame:
    """Distances between the two images of one image attribute."""
    lf = image_features(left, archive, column="l").to_numpy()
    rf = image_features(right, archive, column="r").to_numpy()
    px = slice(0, THUMB_SIDE * THUMB_SIDE)
    hist = slice(THUMB_SIDE * THUMB_SIDE, THUMB_SIDE * THUMB_SIDE + HIST_BINS)
    return pd.DataFrame(
        {
            f"{name}__img_thumb_l1": np.abs(lf[:, px] - rf[:, px]).mean(axis=1),
            f"{name}__img_hist_inter": np.minimum(lf[:, hist], rf[:, hist]).sum(axis=1),
            f"{name}__left_missing": np.isnan(lf[:, 0]).astype(np.float64),
            f"{name}__right_missing": np.isnan(rf[:, 0]).astype(np.float64),
        },
        index=left.index,
    )


def pair_features(
    frame: pd.DataFrame,
    attributes: Iterable[PairAttribute],
    *,
    archive: ImageSource | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """All pair features of ``frame`` (one row per candidate pair), plus row summaries."""
    parts = []
    for attr in attributes:
        left, right = frame[attr.left], frame[attr.right]
        if attr.kind == "image":
            parts.append(image_pair_features(left, right, archive, name=attr.name))
        else:
            parts.append(text_pair_features(left, right, name=attr.name, workers=workers))
    if not parts:
        return pd.DataFrame(index=frame.index)
    out = pd.concat(parts, axis=1)
    token = out.filter(regex=r"__token_set$")
    if token.shape[1]:
        out["pair__mean_token_set"] = token.mean(axis=1)
        out["pair__mean_jaro_winkler"] = out.filter(regex=r"__jaro_winkler$").mean(axis=1)
        out["pair__n_exact"] = out.filter(regex=r"__exact$").sum(axis=1)
    return out
