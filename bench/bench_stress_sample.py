"""What a stress test set of fewer copies does to the robustness figures, on real stress runs.

    DATA_DIR=/tmp/bench-settle-x/measured-data .venv/bin/python bench/bench_stress_sample.py
    ... --rows 1000,500 --draws 200

For every succeeded stress run of the platform in ``DATA_DIR`` (e.g. a demo settled by
``bench/bench_demo_settle.py --work``), its stress test set is staged again (the same copies:
the plan and the stress seed are on the run), its kept predictions read, and the figures
computed as the run computed them (``kinds.robustness.stress_figures``, all rows): per family,
the ratio to the clean score and the flip rate. Then ``--draws`` times per cap in ``--rows``,
the same figures on a sample of the copies of that total size, each family keeping its share
(as a run budget's ``stress_rows`` draws them: ``kinds.stress``'s quotas, scaled), and it
prints per family the full set's figure, the sample's mean, and the half-width of the middle
95% of the sampled figures around the full one. Nothing is written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")


def main() -> None:
    import django

    django.setup()
    from algorithms.models import STRESS_PROFILES, AlgorithmRun, AlgorithmRunStatus
    from algorithms.services.stress import clean_predictions, stress_solution, stress_stage
    from kinds import kind_get
    from kinds.robustness import stress_figures
    from scoring.core import load_predictions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,500", help="sample sizes (copies in all)")
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    caps = [int(x) for x in args.rows.split(",") if x]
    rng = np.random.default_rng(68)
    runs = AlgorithmRun.objects.filter(
        profile__in=STRESS_PROFILES, status=AlgorithmRunStatus.SUCCEEDED
    ).select_related("task", "stress_of")
    print("| task | family | copies | ratio (all) | flip rate (all) |"
          + "".join(f" sample {c}: ratio ± | sample {c}: flip ± |" for c in caps))  # fmt: skip
    print("|---|---|---|---|---|" + "---|---|" * len(caps))
    for run in runs:
        task = run.task
        kind = kind_get(task.kind)
        with tempfile.TemporaryDirectory() as tmp:
            stress = stress_stage(run=run, folder=Path(tmp) / "task").context
        solution = stress_solution(task=task, stress=stress)
        with run.predictions.open("rb") as handle:
            pred = np.asarray(load_predictions(handle.read()).pred)
        before = clean_predictions(run=run.stress_of)

        context = {
            "stress_figures": stress_figures,
            "kind": kind,
            "metric": task.primary_metric or kind.primary,
            "solution": solution,
            "stress": stress,
            "pred": pred,
            "before": before,
        }

        def figures(keep: np.ndarray, context: dict = context) -> dict:
            return _figures(context, keep)

        n = stress.family.size
        full = figures(np.arange(n))
        sampled: dict[int, dict[str, list[tuple[float, float]]]] = {}
        for cap in caps:
            sampled[cap] = {name: [] for name in full}
            if cap >= n:
                continue
            for _ in range(args.draws):
                keep = []
                for code in range(len(stress.families)):
                    rows = np.flatnonzero(stress.family == code)
                    take = int(np.floor(rows.size * cap / n))
                    if take:
                        keep.append(rng.choice(rows, size=take, replace=False))
                got = figures(np.sort(np.concatenate(keep)))
                for name, fig in got.items():
                    sampled[cap][name].append((fig["ratio"], fig["flip_rate"]))
        for name, fig in full.items():
            cells = []
            for cap in caps:
                values = sampled[cap][name]
                if not values:
                    cells.append("— | — |")
                    continue
                ratios = np.array([v[0] for v in values if v[0] is not None], dtype=float)
                flips = np.array([v[1] for v in values if v[1] is not None], dtype=float)
                cells.append(
                    f" {spread(ratios, fig['ratio'])} | {spread(flips, fig['flip_rate'])} |"
                )
            print(f"| {task.slug} | {name} | {fig['rows']} | {num(fig['ratio'])} |"
                  f" {num(fig['flip_rate'])} |" + "".join(cells))  # fmt: skip


def _figures(context: dict, keep: np.ndarray) -> dict:
    """The figures per family (all rows) on the copies ``keep``."""
    stress, solution = context["stress"], context["solution"]
    out = context["stress_figures"](
        kind=context["kind"],
        metric=context["metric"],
        classes=solution.classes,
        options=solution.options,
        families=stress.families,
        family=stress.family[keep],
        origin=stress.origin[keep],
        y=np.asarray(solution.y)[keep],
        is_public=np.asarray(solution.is_public, dtype=bool)[keep],
        pred=context["pred"][keep],
        clean_pred=context["before"],
    )
    return out["all"]["families"]


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def spread(values: np.ndarray, full: float | None) -> str:
    """The sampled figures' mean and the half-width of their middle 95% around the full one."""
    if values.size == 0 or full is None:
        return "—"
    low, high = np.percentile(values, [2.5, 97.5])
    return f"{values.mean():.4f} ± {max(full - low, high - full):.4f}"


if __name__ == "__main__":
    main()
