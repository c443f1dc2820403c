"""Check image columns against ``images/`` and pack the referenced images into a zip."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from PIL import Image

from common.wording import examples, plural

FOLDER = "images"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DRIVE_RE = re.compile(r"^[A-Za-z]:")


def normalize_path(value: str) -> str:
    """``./a//b.png`` -> ``a/b.png`` (the form kept in the standardized files and the zip)."""
    return posixpath.normpath(value)


def unsafe_reason(value: str) -> str | None:
    """Why an image path may not be used, or None when it is a plain relative path."""
    if "\\" in value:
        return "backslashes"
    if value.startswith("/") or DRIVE_RE.match(value):
        return "absolute paths"
    if ".." in PurePosixPath(value).parts:
        return "'..'"
    return None


def image_file(images_dir: Path, value: str) -> Path | None:
    """The file ``value`` names inside ``images_dir``, or None if unsafe or missing."""
    if unsafe_reason(value):
        return None
    target = (images_dir / normalize_path(value)).resolve()
    if not target.is_relative_to(images_dir.resolve()) or not target.is_file():
        return None
    return target


def check_image_paths(
    images_dir: Path,
    file_name: str,
    column: str,
    distinct: list[str],
    rows: list[int],
    problems: list[str],
) -> set[str]:
    """Report unsafe and missing paths of one column; return the normalized usable paths.

    ``distinct`` holds the column's distinct non-empty paths in order of first appearance,
    ``rows`` how many rows hold each.
    """
    unsafe: dict[str, list[str]] = {}
    for value in distinct:
        reason = unsafe_reason(value)
        if reason:
            unsafe.setdefault(reason, []).append(value)
    for reason, bad in unsafe.items():
        problems.append(
            f"{file_name}: column '{column}' has image paths with {reason}, which are not"
            f" allowed ({plural(len(bad), 'path')}, e.g. {examples(bad)}); use paths relative"
            f" to {FOLDER}/"
        )
    safe = [(v, n) for v, n in zip(distinct, rows, strict=True) if not unsafe_reason(v)]
    missing = [(v, n) for v, n in safe if image_file(images_dir, v) is None]
    if missing:
        count = sum(n for _, n in missing)
        problems.append(
            f"{file_name}: column '{column}' names {plural(len(missing), 'image')}"
            f" ({plural(count, 'row')}) not found under {FOLDER}/:"
            f" {examples(v for v, _ in missing)}"
        )
    gone = {v for v, _ in missing}
    return {normalize_path(v) for v, _ in safe if v not in gone}


def check_decodable(images_dir: Path, paths: Iterable[str], problems: list[str]) -> None:
    """Report image files Pillow cannot identify and verify."""
    broken = []
    for path in sorted(paths):
        try:
            with Image.open(images_dir / path) as image:
                image.verify()
        except Exception:  # Pillow raises many types for a broken file
            broken.append(path)
    if broken:
        problems.append(
            f"{FOLDER}/: {plural(len(broken), 'file')} could not be read as images:"
            f" {examples(broken)}"
        )


def write_images_zip(images_dir: Path, paths: Iterable[str], zip_path: Path) -> None:
    """Store the given images (sorted, fixed timestamps) so the archive is reproducible."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(set(paths)):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            with (images_dir / path).open("rb") as source, archive.open(info, "w") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
