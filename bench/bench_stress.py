"""Stress test sets at catalog scale (docs/organizers/stress.md): building the perturbed copies of a
matching task takes a fraction of the task's own import.

Builds a matching bundle (Parquet) of N test pairs (default 1,000,000; ``--rows``) and N/2
train pairs: ``title`` (text, 4-7 words, one pair in ten with accented words), ``brand``
(categorical, 200 values, some accented) and ``price`` (numeric), as ``left_``/``right_``
pairs, ids ``p000000042``. Then, in one run on the same files:

- import: ``datasets.core.prepare_task`` (validate, standardize, split, card), the task's
  import;
- stress: what a stress run's staging does after the ``/task`` copy: read the standardized
  test, train ids and features and the solution, and build the stress test set with the
  default families (every family that applies: all ten) at the full clean size (no
  ``STRESS_MAX_ROWS`` cap: the worst case), then write it as Parquet; and the same with the
  default cap (200,000 rows).

It prints each time and the ratio stress / import; the bound is 0.5 (``--check`` exits 1
above it). Seconds vary with the machine's load; the ratio is what the bench is for.

Run: .venv/bin/python bench/bench_stress.py [--rows 1000000] [--keep DIR] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

WORDS = np.array(
    [
        *("red", "blue", "green", "small", "large", "steel", "wooden", "cotton", "classic"),
        *("modern", "pro", "mini", "ultra", "smart", "wireless", "compact", "portable"),
        *("deluxe", "eco", "slim", "Größe", "Crème", "Zürich", "Škoda", "Ærø", "Łódź"),
    ]
)
PLAIN = 20  # the first 20 words are ASCII
BOUND = 0.5
DEFAULT_CAP = 200_000


def _titles(rng: np.random.Generator, n: int, accented: np.ndarray) -> pa.Array:
    vocabulary = np.where(accented[:, None], len(WORDS), PLAIN)
    picks = (rng.random((n, 7)) * vocabulary).astype(np.int64)
    words = WORDS[picks.T]
    lengths = rng.integers(4, 8, n)
    columns = [pa.array(np.where(lengths > k, words[k], "")) for k in range(7)]
    return pc.utf8_rtrim(pc.binary_join_element_wise(*columns, " "), characters=" ")


def _pairs(rng: np.random.Generator, n: int, prefix: str) -> tuple[pa.Table, np.ndarray]:
    accented = rng.random(n) < 0.1
    title = _titles(rng, n, accented)
    brands = np.array([f"brand {i}" if i % 7 else f"Marké {i}" for i in range(200)])
    brand = brands[rng.integers(0, 200, n)]
    price = np.round(rng.gamma(2.0, 30.0, n), 2)
    match = rng.random(n) < 0.3
    other = _titles(rng, n, accented)
    digits = pc.utf8_lpad(pa.array(np.arange(n)).cast(pa.string()), width=9, padding="0")
    table = pa.table(
        {
            "id": pc.binary_join_element_wise(prefix, digits, ""),
            "left_title": title,
            "left_brand": brand,
            "left_price": price,
            "right_title": pc.if_else(pa.array(match), title, other),
            "right_brand": np.where(match, brand, brands[rng.integers(0, 200, n)]),
            "right_price": np.where(match, price, np.round(rng.gamma(2.0, 30.0, n), 2)),
        }
    )
    return table, match.astype(np.int64)


def write_bundle(folder: Path, rows: int) -> Path:
    rng = np.random.default_rng(41)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text(
        "slug: stress-bench\ntitle: Stress bench\nkind: matching\n"
        "columns: {left_brand: categorical, right_brand: categorical}\n",
        encoding="utf-8",
    )
    train, labels = _pairs(rng, rows // 2, "k")
    pq.write_table(train.append_column("label", pa.array(labels)), folder / "train.parquet")
    test, truth = _pairs(rng, rows, "p")
    pq.write_table(test, folder / "test.parquet")
    pq.write_table(pa.table({"id": test["id"], "label": truth}), folder / "solution.parquet")
    return folder


def stage_stress(task_dir: Path, out: Path, *, max_rows: int | None) -> int:
    """What ``algorithms.services.stress.stress_stage`` does after the /task copy."""
    from kinds import kind_get
    from kinds.stress import stress_plan, stress_test_set, train_columns

    meta = json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    columns = tuple((c["name"], c["type"]) for c in meta["columns"])
    kind = kind_get(meta["kind"])
    test = pq.read_table(task_dir / "test.parquet")
    plan = stress_plan(kind, columns, None)
    train = pq.read_table(
        task_dir / "train.parquet", columns=["id", *train_columns(kind, columns, plan)]
    )
    solution = pq.read_table(task_dir / "private" / "solution.parquet")
    split = solution["split"].combine_chunks().cast(pa.string())
    stress = stress_test_set(
        kind=kind,
        test=test,
        labels=solution["label"].combine_chunks(),
        is_public=np.asarray(pc.equal(split, "public").to_numpy(zero_copy_only=False)),
        train=train,
        columns=columns,
        plan=plan,
        seed=7,
        avoid_ids=[train["id"]],
        max_rows=max_rows,
    )
    pq.write_table(stress.test, out, compression="none", use_dictionary=False)  # as the stage
    return stress.test.num_rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=int(os.environ.get("BENCH_STRESS_ROWS", 1_000_000))
    )
    parser.add_argument("--keep", type=Path, help="build the bundle here and keep it")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above a ratio of {BOUND}")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
    from datasets.core import prepare_task

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-stress-"))
    try:
        started = time.perf_counter()
        bundle = write_bundle(root / "bundle", args.rows)
        written = time.perf_counter() - started
        print(f"bundle: {args.rows:,} test pairs, {args.rows // 2:,} train ({written:.1f} s)")
        work = root / "work"
        shutil.rmtree(work, ignore_errors=True)
        started = time.perf_counter()
        standardized = prepare_task(bundle, work_dir=work)
        imported = time.perf_counter() - started
        task_dir = standardized.out_dir
        print(f"import (prepare_task):          {imported:8.2f} s")
        started = time.perf_counter()
        full = stage_stress(task_dir, root / "stress-full.parquet", max_rows=None)
        stressed = time.perf_counter() - started
        ratio = stressed / imported
        print(f"stress set, full ({full:,} rows): {stressed:8.2f} s   ratio {ratio:.3f}")
        started = time.perf_counter()
        capped = stage_stress(task_dir, root / "stress-capped.parquet", max_rows=DEFAULT_CAP)
        capped_s = time.perf_counter() - started
        ratio = capped_s / imported
        print(f"stress set, capped ({capped:,} rows): {capped_s:8.2f} s   ratio {ratio:.3f}")
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs;"
            f" bound: stress / import <= {BOUND}"
        )
        if args.check and stressed / imported > BOUND:
            print(f"FAIL: the full-size stress set took {stressed / imported:.2f}x the import")
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
