"""Bundle validation and standardization, free of Django.

``prepare_task`` is the entry point: open the organizer's bundle (folder or zip), validate it
against every rule, and write the standardized task folder of ``docs/developers/data-contract.md``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from common.arrowtools import release_unused_memory
from datasets.core.bundle import open_bundle
from datasets.core.errors import BundleInvalid
from datasets.core.io import read_standard_csv, read_standard_parquet
from datasets.core.standardize import StandardizedTask, standardize
from datasets.core.validate import ValidatedBundle, validate_bundle

__all__ = [
    "BundleInvalid",
    "StandardizedTask",
    "ValidatedBundle",
    "open_bundle",
    "prepare_task",
    "read_standard_csv",
    "read_standard_parquet",
    "standardize",
    "validate_bundle",
]


def _keywords(function: object) -> set[str]:
    return {
        p.name
        for p in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
        if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
    }


def prepare_task(source: Path, *, work_dir: Path, **caps: int | float) -> StandardizedTask:
    """Open, validate and standardize ``source``; every file is written inside ``work_dir``.

    ``caps`` are the keyword limits of :func:`open_bundle` (``max_archive_bytes``,
    ``max_uncompressed_bytes``, ``max_members``, ``max_compression_ratio``) and of
    :func:`validate_bundle` (``max_rows``, ``max_file_bytes``). The task lands in
    ``work_dir / "task"``; a zip is unpacked in ``work_dir / "bundle"``.
    Raises :class:`BundleInvalid` listing every problem.
    """
    open_caps, validate_caps = _keywords(open_bundle), _keywords(validate_bundle)
    unknown = set(caps) - open_caps - validate_caps
    if unknown:
        raise TypeError(f"unknown caps: {', '.join(sorted(unknown))}")
    folder = open_bundle(
        Path(source),
        staging_dir=work_dir / "bundle",
        **{k: v for k, v in caps.items() if k in open_caps},  # type: ignore[arg-type]
    )
    bundle = validate_bundle(folder, **{k: v for k, v in caps.items() if k in validate_caps})  # type: ignore[arg-type]
    release_unused_memory()  # what the checks held and dropped, before the files are written
    return standardize(bundle, work_dir / "task")
