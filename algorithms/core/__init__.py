"""The algorithm archive core: validation and extraction of an uploaded ``.zip``. No Django."""

from algorithms.core.archive import (
    AlgorithmArchive,
    ArchiveInvalid,
    ArchiveLimits,
    extract_archive,
    validate_archive,
)

__all__ = [
    "AlgorithmArchive",
    "ArchiveInvalid",
    "ArchiveLimits",
    "extract_archive",
    "validate_archive",
]
