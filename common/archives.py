"""Zips a stranger sent: the one check of what may never be extracted, and of a central
directory too large to read.

Used by the dataset bundle import (``datasets.core.bundle``) and the algorithm archive check
(``algorithms.core.archive``), so both refuse the same members with the same words.

:func:`zip_directory_problem` comes first: :mod:`zipfile` builds a ``ZipInfo`` for every
entry of the central directory when it opens an archive, so a directory of a few hundred
thousand tiny entries (a 20 MB archive holds 400,000) costs memory and seconds before any
member count can be checked. The end-of-central-directory record declares the entry count
and the directory's size; both are checked against the member limit before the directory is
read. The count alone is not trusted (zipfile reads entries until the declared *size* is
used up, whatever the count says), so the size is bounded too.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

DRIVE_RE = re.compile(r"^[A-Za-z]:")
# The directory may list this many entries per allowed member: a macOS archive lists a
# ``__MACOSX/._name`` beside every file (the member count, checked after, skips them).
DIRECTORY_SLACK = 4
# What an entry of the directory may take on average: 46 fixed bytes, its name and a few
# extra fields (timestamps, Unix ids, zip64 sizes).
DIRECTORY_ENTRY_BYTES = 512


@dataclass(frozen=True)
class ZipDirectory:
    """What a zip's end-of-central-directory record declares (the zip64 one's when there is
    one)."""

    entries: int
    size: int  # bytes of the central directory


def zip_directory(source: str | Path | IO[bytes]) -> ZipDirectory | None:
    """The end record of ``source``, or None when it has none (not a zip); a file object is
    left where it was. Reads the last 64 KiB at most. May raise ``zipfile.BadZipFile`` or
    ``OSError`` (a damaged archive)."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            return _end_record(handle)
    here = source.tell()
    try:
        return _end_record(source)
    finally:
        source.seek(here)


def _end_record(handle: IO[bytes]) -> ZipDirectory | None:
    # zipfile's own search for the record, so the record checked here is the one zipfile
    # reads next (a second copy of the search could be made to find another one).
    record = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    if record is None:
        return None
    return ZipDirectory(
        entries=record[zipfile._ECD_ENTRIES_TOTAL],  # type: ignore[attr-defined]
        size=record[zipfile._ECD_SIZE],  # type: ignore[attr-defined]
    )


def zip_directory_problem(directory: ZipDirectory, *, max_members: int, label: str) -> str | None:
    """Why the central directory of ``label`` is refused unread, or None: more entries than
    :data:`DIRECTORY_SLACK` per allowed member, or more bytes than those entries may take."""
    entries = max_members * DIRECTORY_SLACK
    if directory.entries > entries:
        return (
            f"{label}'s directory lists {directory.entries:,} entries, over the limit of"
            f" {max_members:,} members ({entries:,} entries with macOS debris): refused unread"
        )
    size = entries * DIRECTORY_ENTRY_BYTES
    if directory.size > size:
        return (
            f"{label}'s central directory is {directory.size:,} bytes, over the {size:,} bytes"
            f" that {entries:,} entries may take: refused unread"
        )
    return None


def zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why ``info`` may not be extracted anywhere (as a phrase: "an absolute path"), or None."""
    name = info.filename
    if not name or "\x00" in name:
        return "an empty name"
    if "\\" in name:
        return "backslashes in the name"
    if name.startswith("/") or DRIVE_RE.match(name):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "'..' in the path"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encryption"
    return None
