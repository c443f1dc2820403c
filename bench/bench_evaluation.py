"""What OPIS and flips add to scoring (issue 13: at most 1 s for a 1M-row submission).

For each size: the classification files of ``bench_scoring`` (5 classes with
probabilities, Parquet, in the solution's order) and a matching solution with 50 OPIS
groups. Measured in this process, best of ``--repeat``:

- scoring: ``load_solution`` + read + align + the label metrics (accuracy, macro-F1,
  log-loss; matching: F1, precision, recall, average precision), i.e. scoring without OPIS
- opis+flips: OPIS for the three splits (the utility curves behind the ``opis`` metric) +
  the flips against a reference for the three splits (counts, NFR/PFR, example rows:
  ``common.flips.split_flips``)
- digest: what scoring now also stores for the submission page (``scoring.core.digest``:
  confusion matrices, the threshold curve, the OPIS curves drawn over [0, 1])

added = opis+flips + digest; the ratio added/scoring is what the evaluation costs on top of
the scoring it extends (issue 13: added <= 1 s at 1M rows).

Run: .venv/bin/python -m bench.bench_evaluation [--rows 1000000] [--repeat 3]  (from the repo root;
it imports bench.bench_scoring, so running the file by path fails)
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.bench_scoring import CLASSES, best_of, make_files
from common.flips import split_flips
from scoring.core import load_solution
from scoring.core.align import align_submission
from scoring.core.digest import own_digest
from scoring.core.metrics import task_curves
from scoring.core.opis import OpisSettings
from scoring.core.reader import read_submission


def matching_files(rows: int, folder: Path, seed: int = 1) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = pa.array([f"p{i:09d}" for i in range(rows)])
    y = (rng.random(rows) < 0.2).astype(np.int64)
    score = np.clip(y * 0.5 + rng.random(rows) * 0.5, 0, 1)
    split = np.array(["public", "private"])[(rng.random(rows) < 0.7).astype(int)]
    solution, submission = folder / "msol.parquet", folder / "msub.parquet"
    pq.write_table(pa.table({"id": ids, "label": y, "split": split}), solution)
    pq.write_table(
        pa.table({"id": ids, "label": (score >= 0.5).astype(np.int64), "score": score}),
        submission,
    )
    return solution, submission, rng.integers(0, 50, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header = (
        f"{'rows':>9} {'kind':<15} {'scoring s':>9} {'opis+flips s':>12} {'digest s':>8} "
        f"{'added s':>8} {'added/scoring':>13}"
    )
    print(header)
    print("-" * len(header))
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="bench_evaluation_") as tmp:
            paths = make_files(rows, Path(tmp))
            msol, msub, groups = matching_files(rows, Path(tmp))
            cases = (
                ("classification", paths["solution"], paths["parquet in order"], CLASSES, None),
                ("matching", msol, msub, ["0", "1"], groups),
            )
            for kind, sol_path, sub_path, classes, group_codes in cases:

                def scoring(sol_path=sol_path, sub_path=sub_path, kind=kind, classes=classes):
                    solution = load_solution(sol_path, kind=kind, classes=classes)
                    aligned = align_submission(read_submission(sub_path), solution)
                    solution.task_kind.evaluate(aligned, solution)
                    return solution, aligned

                t_scoring, (solution, aligned) = best_of(args.repeat, scoring)
                solution = replace(solution, opis=OpisSettings(groups=group_codes))
                reference = np.roll(aligned.pred, 1)

                def opis_and_flips(solution=solution, aligned=aligned, reference=reference):
                    curves = task_curves(aligned, solution)
                    split_flips(
                        y=solution.y,
                        pred=aligned.pred,
                        reference=reference,
                        is_public=solution.is_public,
                        examples=5,
                    )
                    return curves

                t_added, curves = best_of(args.repeat, opis_and_flips)
                t_digest, _ = best_of(
                    args.repeat,
                    lambda solution=solution, aligned=aligned, curves=curves: own_digest(
                        aligned, solution, curves
                    ),
                )
                total = t_added + t_digest
                print(
                    f"{rows:>9,} {kind:<15} {t_scoring:>9.2f} {t_added:>12.3f} {t_digest:>8.3f} "
                    f"{total:>8.3f} {total / t_scoring:>13.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
