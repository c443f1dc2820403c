"""``open_bundle``: turn an uploaded folder or ``.zip`` into a folder to validate, safely.

A zip's central directory is checked in full before anything is written (and read only
once its end record declares a size and a count the member limit allows,
:func:`common.archives.zip_directory_problem`): member names (absolute, ``..``,
backslashes, outside the staging folder), symlinks, encryption, the member count, the
declared total size and the compression ratio. Extraction then streams each
member with a running byte budget, so declared sizes are never trusted.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from common.archives import zip_directory, zip_directory_problem, zip_member_problem
from common.wording import examples, plural
from datasets.core.errors import BundleInvalid

DEFAULT_MAX_ARCHIVE_BYTES = 1024**3
DEFAULT_MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_COMPRESSION_RATIO = 200
RATIO_MIN_BYTES = 1024 * 1024  # smaller members may compress as well as they like
CHUNK = 1024 * 1024
IGNORED_PREFIXES = ("__MACOSX/",)
TASK_FILE = "task.yaml"


def open_bundle(
    source: Path,
    *,
    staging_dir: Path,
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO,
) -> Path:
    """Return the bundle's folder: ``source`` itself, or the zip extracted in ``staging_dir``.

    ``staging_dir`` is created and must be empty. A zip holding a single top-level folder with
    ``task.yaml`` inside yields that folder. Raises :class:`BundleInvalid` when refused, with
    ``staging_dir`` left empty.
    """
    if source.is_dir():
        return source
    if not source.is_file():
        raise BundleInvalid([f"{source.name}: no such folder or file"])
    size = source.stat().st_size
    if size > max_archive_bytes:
        raise BundleInvalid(
            [f"{source.name} is {size:,} bytes, over the archive limit of {max_archive_bytes:,}"]
        )
    try:
        directory = zip_directory(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleInvalid([f"{source.name} is a damaged zip archive: {exc}"]) from exc
    if directory is None:
        raise BundleInvalid([f"{source.name} is neither a folder nor a .zip archive"])
    if problem := zip_directory_problem(directory, max_members=max_members, label=source.name):
        raise BundleInvalid([problem])
    staging_dir.mkdir(parents=True, exist_ok=True)
    if any(staging_dir.iterdir()):
        raise ValueError(f"staging folder {staging_dir} is not empty")
    try:
        with zipfile.ZipFile(source) as archive:
            members = _plan(
                archive.infolist(),
                staging_dir.resolve(),
                source.name,
                max_uncompressed_bytes=max_uncompressed_bytes,
                max_members=max_members,
                max_compression_ratio=max_compression_ratio,
            )
            _extract(archive, members, staging_dir, source.name, max_uncompressed_bytes)
    except BundleInvalid:
        _empty(staging_dir)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        _empty(staging_dir)
        raise BundleInvalid([f"{source.name} is a damaged zip archive: {exc}"]) from exc
    return staging_dir / _root([m.filename for m in members])


def _plan(
    infos: list[zipfile.ZipInfo],
    staging: Path,
    archive_name: str,
    *,
    max_uncompressed_bytes: int,
    max_members: int,
    max_compression_ratio: float,
) -> list[zipfile.ZipInfo]:
    """Check every central-directory entry; return the members to extract or raise."""
    problems: list[str] = []
    if len(infos) > max_members:
        problems.append(
            f"{archive_name} holds {len(infos):,} members, over the limit of {max_members:,}"
        )
    unsafe: dict[str, list[str]] = {}
    members, seen = [], set()
    for info in infos:
        name = info.filename
        if name.startswith(IGNORED_PREFIXES) or name.rsplit("/", 1)[-1] == ".DS_Store":
            continue
        reason = _unsafe(info, staging)
        if reason:
            unsafe.setdefault(reason, []).append(name)
        elif name.rstrip("/") in seen:
            unsafe.setdefault("a name used twice", []).append(name)
        seen.add(name.rstrip("/"))
        members.append(info)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_BYTES and ratio > max_compression_ratio:
            unsafe.setdefault(
                f"a compression ratio over {max_compression_ratio:g} (a zip bomb?)", []
            ).append(name)
    for reason, names in unsafe.items():
        problems.append(
            f"{archive_name}: refused {plural(len(names), 'member')} with {reason}:"
            f" {examples(names)}"
        )
    declared = sum(info.file_size for info in members)
    if declared > max_uncompressed_bytes:
        problems.append(
            f"{archive_name} would unpack to {declared:,} bytes, over the limit of"
            f" {max_uncompressed_bytes:,}"
        )
    if problems:
        raise BundleInvalid(problems)
    return members


def _unsafe(info: zipfile.ZipInfo, staging: Path) -> str | None:
    """Why a member may not be extracted, or None."""
    name = info.filename
    problem = zip_member_problem(info)
    if problem is not None:
        return problem
    if not (staging / name).resolve().is_relative_to(staging):
        return "a path outside the bundle"
    return None


def _extract(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    staging: Path,
    archive_name: str,
    budget: int,
) -> None:
    """Stream members to disk, refusing more bytes than declared or than the budget."""
    for info in members:
        target = staging / info.filename
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(info) as source, target.open("xb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                budget -= len(chunk)
                if written > info.file_size or budget < 0:
                    raise BundleInvalid(
                        [
                            f"{archive_name}: {info.filename} unpacks to more bytes than declared"
                            " or allowed (a zip bomb?)"
                        ]
                    )
                out.write(chunk)


def _root(names: list[str]) -> str:
    """``""`` when task.yaml is at the top, else the single top folder that holds it."""
    if TASK_FILE in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and f"{next(iter(tops))}/{TASK_FILE}" in names:
        return next(iter(tops))
    return ""


def _empty(folder: Path) -> None:
    """Remove whatever a refused extraction left in ``folder``."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
