"""Planted tasks for the ladder's tests (docs/organizers/ladder.md): bundles whose truth the test
knows, imported by the real import service, and uploads scored by the real scoring service
(``submission_score``, what the worker runs) or sent through the API.

``random_label_task`` is Blum & Hardt's setting: labels drawn at random, so every method's
true score is chance, and a public score above it is overfitting."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from challenges.models import Team
from datasets.models import Task
from datasets.services import task_import
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from scoring.services.upload import submission_create_for_job


@dataclass
class Planted:
    """A task and its truth: ``ids`` in the solution's order, ``truth`` the labels (class
    names, numbers, or entity ids), ``public`` the public rows."""

    task: Task
    ids: np.ndarray
    truth: np.ndarray
    public: np.ndarray

    def frame(self, values) -> pd.DataFrame:
        column = "cluster" if self.task.kind == "grouping" else "label"
        return pd.DataFrame({"id": self.ids, column: np.asarray(values)})


def _write(path: Path, task: dict, train: pd.DataFrame, test: pd.DataFrame, solution) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "task.yaml").write_text(yaml.safe_dump(task))
    train.to_parquet(path / "train.parquet", index=False)
    test.to_parquet(path / "test.parquet", index=False)
    solution.to_parquet(path / "solution.parquet", index=False)
    return path


def _stored_solution(task: Task) -> pd.DataFrame:
    with task.solution.open("rb") as handle:
        return pd.read_parquet(io.BytesIO(handle.read()))


def planted(task: Task, mode: str | None = None) -> Planted:
    """``task`` with its truth; in ``mode`` when given (as an organizer sets it)."""
    if mode is not None:
        Task.objects.filter(pk=task.pk).update(public_board=mode)
        task.refresh_from_db()
    solution = _stored_solution(task)
    return Planted(
        task=task,
        ids=solution["id"].to_numpy(),
        truth=solution["label"].to_numpy(),
        public=(solution["split"] == "public").to_numpy(),
    )


def random_label_task(
    folder: Path,
    *,
    challenge: str,
    slug: str,
    rows: int = 4000,
    public_fraction: float = 0.5,
    metric: str = "accuracy",
    seed: int = 0,
    mode: str | None = "ladder",
) -> Planted:
    """A binary classification task whose labels are a random half of each class: every
    class's rows split exactly ``public_fraction`` public (``rows`` even, the fraction a
    multiple of 2 / rows); in ``mode`` (None: the one a new task starts in)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.array(["0", "1"]), rows // 2))
    ids = np.array([f"r{i:06d}" for i in range(rows)])
    train = pd.DataFrame(
        {"id": [f"t{i}" for i in range(40)], "x": np.arange(40.0), "label": ["0", "1"] * 20}
    )
    test = pd.DataFrame({"id": ids, "x": rng.normal(size=rows)})
    solution = pd.DataFrame({"id": ids, "label": labels})
    spec = {
        "slug": slug,
        "title": slug.title(),
        "kind": "classification",
        "metric": metric,
        "public_fraction": public_fraction,
        "split_seed": seed,
        "columns": {"x": "numeric"},
    }
    bundle = _write(folder / slug, spec, train, test, solution)
    task = task_import(source=bundle, challenge_slug=challenge, track_slug="lad")
    return planted(task, mode)


def kind_task(
    folder: Path,
    *,
    kind: str,
    challenge: str,
    slug: str,
    rows: int,
    seed: int = 0,
    mode: str = "ladder",
) -> Planted:
    """A planted task of ``kind`` (matching: 0/1 labels; regression: numbers; grouping:
    entities of 1-5 records), its test rows half public."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"q{i:06d}" for i in range(rows)])
    test = pd.DataFrame({"id": ids, "x": rng.normal(size=rows)})
    spec = {"slug": slug, "title": slug.title(), "kind": kind, "public_fraction": 0.5}
    spec["split_seed"] = seed
    if kind == "matching":
        labels = rng.permutation(np.repeat([0, 1], rows // 2))
        train = pd.DataFrame(
            {"id": [f"t{i}" for i in range(40)], "left_x": np.arange(40.0),
             "right_x": np.arange(40.0), "label": [0, 1] * 20}
        )  # fmt: skip
        test = pd.DataFrame({"id": ids, "left_x": rng.normal(size=rows), "right_x": 0.0})
    elif kind == "regression":
        labels = np.round(rng.normal(10, 3, rows), 4)
        train = pd.DataFrame(
            {"id": [f"t{i}" for i in range(40)], "x": np.arange(40.0), "label": np.arange(40.0)}
        )
    elif kind == "grouping":
        sizes = rng.integers(1, 6, size=rows)
        entity = np.repeat(np.arange(rows), sizes)[:rows]
        labels = np.array([f"e{e}" for e in entity])
        train = pd.DataFrame(
            {"id": [f"t{i}" for i in range(40)], "x": np.arange(40.0),
             "label": [f"g{i // 2}" for i in range(40)]}
        )  # fmt: skip
    else:
        raise ValueError(kind)
    solution = pd.DataFrame({"id": ids, "label": labels})
    bundle = _write(folder / slug, spec, train, test, solution)
    task = task_import(source=bundle, challenge_slug=challenge, track_slug="lad")
    return planted(task, mode)


def number_forms(value: float) -> list[str]:
    """How a page, a CSV or JSON may write ``value`` (none for a value of two decimals or
    fewer, 0 or 0.25: those cannot be told from other numbers on a page)."""
    if abs(value * 100 - round(value * 100)) < 1e-9:
        return []
    return sorted(
        {repr(value), f"{value:.6f}", f"{value:.5f}", f"{value:.4f}", f"{value:.2%}"}
    )


def upload(
    planted_task: Planted, team: Team, values, folder: Path, name: str, *, at=None
) -> Submission:
    """``values`` (in the solution's row order) uploaded as ``team``'s prediction file and
    scored by the scoring service, in this process (the board's refresh runs in it); made
    ``at`` that time when given."""
    path = folder / f"{name}.parquet"
    planted_task.frame(values).to_parquet(path, index=False)
    submission = submission_create_for_job(
        task=planted_task.task, team=team, predictions=path, note=name, name=name
    )
    if at is not None:
        Submission.objects.filter(pk=submission.pk).update(created_at=at)
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    submission.refresh_from_db()
    return submission
