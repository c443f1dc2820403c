"""Zip members a stranger sent: the one check of what may never be extracted.

Used by the dataset bundle import (``datasets.core.bundle``) and the algorithm archive check
(``algorithms.core.archive``), so both refuse the same members with the same words.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import PurePosixPath

DRIVE_RE = re.compile(r"^[A-Za-z]:")


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
