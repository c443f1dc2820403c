"""Stored files: where a storage keeps one on this host, and a clean-up that must never hide
the error that matters."""

from __future__ import annotations

import logging
import os
from pathlib import PurePosixPath
from typing import Any

logger = logging.getLogger(__name__)


def delete_file_quietly(storage: Any, name: str | None) -> None:
    """Delete ``name`` from ``storage`` (any object with a ``delete(name)``, e.g. a Django
    storage); a failure is logged, never raised (cleanup only)."""
    if not name:
        return
    try:
        storage.delete(name)
    except Exception:  # the error that matters is raised elsewhere
        logger.warning("could not delete %s", name, exc_info=True)


def local_path(storage: Any, name: str) -> str | None:
    """The file ``name`` of ``storage`` (a Django storage) as a path on this host, or None
    when the storage has no local files (an object store such as S3: its ``path`` raises
    ``NotImplementedError``)."""
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


def remove_empty_folders(storage: Any, name: str) -> None:
    """Remove the folders of the stored file ``name`` that its deletion left empty, the
    innermost first, never the top one (``tasks/t/v2/test.csv``: ``tasks/t/v2``, then
    ``tasks/t``; not ``tasks``); local storage only (object stores have no folders)."""
    parents = list(PurePosixPath(name).parents)[:-2]  # without "." and the top folder
    for parent in parents:
        path = local_path(storage, str(parent))
        if path is None:
            return
        try:
            os.rmdir(path)
        except FileNotFoundError:  # gone already: the one above may be empty
            continue
        except OSError:  # not empty: nor is anything above it
            return
