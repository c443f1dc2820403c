"""A task for the champion gate's tests, planted prediction files, and the gate computed
independently (numpy, scipy, statsmodels), to compare with what the platform says.

The task: k-way classification with a categorical ``color`` slice column (``red`` is a
small slice, 1 row in 16), half of the test rows public. The champion at the start is an
uploaded primary reference ("production model") wrong on 15% of the rows. Planted
entries, each against that reference:

- ``equal``: the reference's own predictions (no improvement);
- ``many_flips``: fixes most of its mistakes but breaks 6% of the rows it had right;
- ``slice_broken``: fixes 60% of its mistakes, breaks 15% of the red rows it had right
  (little overall, much in one slice);
- ``few_flips``: fixes 60% of its mistakes and breaks 0.2% of the rows it had right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.core.management import call_command
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from datasets.models import Task
from datasets.services import task_import
from testkit.bundles import write_classification_bundle
from tests.scoring_tests.factories import csv_bytes, solution_frame

RED_EVERY = 16
PLANTED = ("equal", "many_flips", "slice_broken", "few_flips")


def colors(n: int) -> np.ndarray:
    idx = np.arange(n)
    return np.where(idx % RED_EVERY == 0, "red", np.where(idx % 2 == 0, "green", "blue"))


def _colored(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(color=colors(len(frame)))


def gate_task(
    folder: Path,
    *,
    challenge_slug: str,
    slug: str = "gated",
    rows: int = 6000,
    command: bool = False,
) -> Task:
    """The gated classification task (``rows`` train rows, ``rows / 2`` test rows); with
    ``command``, imported as an organizer does from a shell (``manage.py import_task``: a
    challenge it creates gets the install's defaults, its board mode among them)."""
    bundle = write_classification_bundle(
        folder / f"bundle-{slug}",
        rows=rows,
        task={
            "slug": slug,
            "public_fraction": 0.5,
            "columns": {"color": "categorical"},
            "slices": ["color"],
        },
        train=_colored,
        test=_colored,
    )
    if command:
        call_command(
            "import_task", str(bundle), "--challenge", challenge_slug, "--track", f"{slug}-track"
        )
        return Task.objects.get(slug=slug)
    return task_import(source=bundle, challenge_slug=challenge_slug, track_slug=f"{slug}-track")


@dataclass(frozen=True)
class World:
    """The solution as arrays (solution order), the reference's and each planted entry's
    class codes, and their files."""

    ids: np.ndarray
    truth: np.ndarray
    public: np.ndarray
    color: np.ndarray
    classes: list[str]
    reference: np.ndarray
    planted: dict[str, np.ndarray]

    def file(self, codes: np.ndarray) -> bytes:
        labels = [self.classes[c] for c in codes]
        return csv_bytes(pd.DataFrame({"id": self.ids, "label": labels}))


def _shift(codes: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    out = codes.copy()
    out[rows] = (out[rows] + 1) % k
    return out


def world_of(task: Task, *, seed: int = 11) -> World:
    truth_frame = solution_frame(task)
    classes = list(task.classes)
    ids = truth_frame["id"].astype(str).to_numpy()
    truth = truth_frame["label"].astype(str).map(classes.index).to_numpy()
    public = (truth_frame["split"] == "public").to_numpy()
    color = colors(len(ids))  # the test file's rows are the solution's, in order
    rng = np.random.default_rng(seed)
    k = len(classes)
    reference = _shift(truth, rng.random(len(ids)) < 0.15, k)
    wrong = reference != truth
    right = ~wrong

    def fix(share: float) -> np.ndarray:
        return wrong & (rng.random(len(ids)) < share)

    def planted(fixed: np.ndarray, broken: np.ndarray) -> np.ndarray:
        out = reference.copy()
        out[fixed] = truth[fixed]
        return _shift(out, broken & right, k)

    red = color == "red"
    return World(
        ids=ids,
        truth=truth,
        public=public,
        color=color,
        classes=classes,
        reference=reference,
        planted={
            "equal": reference.copy(),
            "many_flips": planted(fix(0.8), rng.random(len(ids)) < 0.06),
            "slice_broken": planted(fix(0.6), red & (rng.random(len(ids)) < 0.15)),
            "few_flips": planted(fix(0.6), rng.random(len(ids)) < 0.002),
        },
    )


@dataclass(frozen=True)
class Small:
    """The issue's widget-grades case: a task with 135 public rows whose champion (the
    uploaded primary reference ``production model``) is wrong on 55 of them, and a better
    file that fixes 50 and breaks none (+0.37 accuracy, NFR 0 bounded by 0.027 > 0.02)."""

    task: Task
    world: World
    reference: np.ndarray
    better: np.ndarray


def widget_grades(folder: Path, *, challenge_slug: str, command: bool = False) -> Small:
    from scoring.services.references import reference_upload
    from tests.scoring_tests.factories import upload

    task = gate_task(
        folder, challenge_slug=challenge_slug, slug="widget-grades", rows=540, command=command
    )
    world = world_of(task)
    public = np.flatnonzero(world.public)
    assert len(public) == 135
    k = len(world.classes)
    reference = world.truth.copy()
    reference[public[:55]] = (world.truth[public[:55]] + 1) % k
    better = world.truth.copy()
    better[public[50:55]] = reference[public[50:55]]
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(reference), "production.csv"),
        make_primary=True,
    )
    return Small(task=task, world=world, reference=reference, better=better)


# --- the gate, computed independently ------------------------------------------------------


def oracle(
    *,
    truth: np.ndarray,
    new: np.ndarray,
    champion: np.ndarray,
    rows: np.ndarray,
    slices: dict[str, np.ndarray] | None = None,
    epsilon: float = 0.02,
    alpha: float = 0.05,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The documented gate of a classification entry by hand (docs/organizers/champion-gate.md):
    the accuracy difference's paired bootstrap (resample b: child b of SeedSequence(seed)
    drawing n row indices), Clopper-Pearson from the beta distribution, McNemar from
    statsmodels, the slices' exact tests with Holm's step-down by hand."""
    at = np.flatnonzero(rows)
    was, now = champion[at] == truth[at], new[at] == truth[at]
    n = len(at)
    fixes, breaks = int((now & ~was).sum()), int((was & ~now).sum())
    draws = []
    for child in np.random.SeedSequence(seed).spawn(n_resamples):
        idx = np.random.Generator(np.random.PCG64(child)).integers(0, n, size=n)
        draws.append(now[idx].mean() - was[idx].mean())
    draws = np.sort(np.array(draws))
    k = math.ceil(alpha / 2 * n_resamples)
    ci = (draws[k - 1], draws[n_resamples - k])

    def cp(count: int) -> tuple[float, float]:
        low = 0.0 if count == 0 else stats.beta.ppf(0.025, count, n - count + 1)
        high = 1.0 if count == n else stats.beta.ppf(0.975, count + 1, n - count)
        return float(low), float(high)

    p = mcnemar([[0, fixes], [breaks, 0]], exact=True).pvalue
    found = []
    for column, values in (slices or {}).items():
        for value in sorted(set(values[at])):
            members = values[at] == value
            size = int(members.sum())
            if size >= 30:
                b = int((was & ~now)[members].sum())
                found.append(
                    (column, str(value), size, b, float(stats.binom.sf(b - 1, size, epsilon)))
                )
    # Holm's step-down by hand: the i-th smallest p against alpha / (m - i), until one fails.
    broken = set()
    for rank, i in enumerate(np.argsort([f[4] for f in found], kind="stable")):
        if found[i][4] > alpha / (len(found) - rank):
            break
        broken.add(i)
    holds = not broken
    nfr_ci = cp(breaks)
    improved = ci[0] > 0 or (p <= alpha and fixes > breaks)
    return {
        "difference": float(now.mean() - was.mean()),
        "ci": [float(ci[0]), float(ci[1])],
        "nfr": breaks / n,
        "nfr_ci": list(nfr_ci),
        "pfr": fixes / n,
        "pfr_ci": list(cp(fixes)),
        "mcnemar": {"fixes": fixes, "breaks": breaks, "p": float(p)},
        "slices": [
            {
                "column": column,
                "value": value,
                "rows": size,
                "nfr": b / size,
                "nfr_upper": 1.0 if b == size else float(stats.beta.ppf(0.975, b + 1, size - b)),
            }
            for column, value, size, b, _ in sorted(found)
        ],
        # The strongest evidence of breaking: the smallest p, then the highest NFR.
        "worst_slice": min(found, key=lambda f: (f[4], -f[3] / f[2]))[1] if found else None,
        "passes": bool(improved and nfr_ci[1] <= epsilon and holds),
        "improved": bool(improved),
        "breaks_little": bool(nfr_ci[1] <= epsilon),
        "slices_hold": holds,
    }
