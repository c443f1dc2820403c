"""Cleaning up stored files: a deletion that must never hide the error that matters."""

from __future__ import annotations

import logging
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
