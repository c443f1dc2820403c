"""The demo challenge's final phase on a held-back test set (docs/organizers/run-phases.md,
``datasets.phase_versions``).

Each demo task's bundle, as its builder writes it from the demo sources, is split once: a
share of its test rows (``HELD_BACK``, chosen by a fixed seed among the test ids) is taken
out of the bundle the development phase imports and written to a second bundle (the same
train rows, task.yaml and images), staged as the final phase's own data. The development
phase never sees those rows; at the final phase's start they become the task's test set,
scored on their own public/private split, and the AutoGluon baseline is queued on them
then (the phase start's ``TaskDataChanged``), not before.

A demo database made before this (its tasks imported whole) gets the same held-back rows
staged from the bundle built again (the builders are deterministic): its development phase
has seen those rows' features, never their labels. A kind whose test rows are not
independent of each other (grouping: rows form entities) keeps a single test set.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from challenges.models import Challenge, Phase
from datasets.models import Task, TaskVersion
from datasets.phase_versions import phase_started
from datasets.replace import task_bundle_replace
from kinds import kind_get

HELD_BACK = 1 / 3  # the share of a demo task's test rows the final phase alone sees
HELD_BACK_SEED = 62
FINAL_PHASE = "final"
REASON = "the demo's final phase: test rows held back from the development phase"


def demo_final_phase(*, challenge: Challenge) -> Phase | None:
    """The demo's final phase, when it is yet to start (None: nothing to stage)."""
    phase = Phase.objects.filter(challenge=challenge, slug=FINAL_PHASE).first()
    if phase is None or phase_started(phase=phase):
        return None
    return phase


def stages_held_back(*, kind: str) -> bool:
    """Whether a demo task of ``kind`` gets a held-back final test set: a kind whose split
    draws rows (not entities, whose rows depend on each other)."""
    return kind_get(kind).unit == "row"


def held_back_ids(*, ids: list[str]) -> set[str]:
    """The test ids held back (a fixed seeded share of them, at least one kept each side)."""
    count = min(max(round(len(ids) * HELD_BACK), 1), len(ids) - 1)
    rng = np.random.default_rng(HELD_BACK_SEED)
    return {ids[i] for i in rng.choice(len(ids), size=count, replace=False)}


def bundle_split(*, bundle: Path, final_dir: Path, drop_from_bundle: bool) -> int:
    """Write ``final_dir``: ``bundle`` with only the held-back test rows (test and
    solution); with ``drop_from_bundle`` those rows leave ``bundle`` itself. Returns how
    many rows are held back."""
    shutil.copytree(bundle, final_dir)
    test = _part(bundle, "test")
    ids = _ids(test)
    held = held_back_ids(ids=ids)
    for part in ("test", "solution"):
        path = _part(bundle, part)
        _write_rows(path, final_dir / path.name, keep=held)
        if drop_from_bundle:
            _write_rows(path, path, keep=set(ids) - held)
    return len(held)


def has_final_version(*, task: Task, phase: Phase) -> bool:
    return TaskVersion.objects.filter(task=task, phase=phase).exists()


def stage_final(*, task: Task, phase: Phase, final_dir: Path) -> TaskVersion:
    """Stage ``final_dir`` as ``phase``'s own data of ``task`` (checked as every version)."""
    return task_bundle_replace(
        task=task, source=final_dir, actor=None, reason=REASON, phase=phase
    ).version


def _part(bundle: Path, part: str) -> Path:
    for suffix in ("parquet", "csv"):
        if (bundle / f"{part}.{suffix}").exists():
            return bundle / f"{part}.{suffix}"
    raise FileNotFoundError(f"the bundle has no {part} file")


def _ids(path: Path) -> list[str]:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["id"])["id"].tolist()
    return pq.read_table(path, columns=["id"])["id"].cast(pa.string()).to_pylist()


def _write_rows(source: Path, target: Path, *, keep: set[str]) -> None:
    """``source``'s rows whose id is in ``keep``, written to ``target`` as they were (CSV
    values as text, Parquet with its schema)."""
    if source.suffix == ".csv":
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        frame[frame["id"].isin(keep)].to_csv(
            target, index=False, lineterminator="\n", encoding="utf-8"
        )
        return
    table = pq.read_table(source)
    mask = pc.is_in(table["id"].cast(pa.string()), value_set=pa.array(sorted(keep)))
    pq.write_table(table.filter(mask), target, compression="zstd")
