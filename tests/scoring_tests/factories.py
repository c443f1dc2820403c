"""Factories and helpers for the scoring tests: real imported tasks, teams, submission files."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from sklearn import metrics as sk

from challenges.models import Challenge, Team
from datasets.models import Task
from datasets.services import task_import
from testkit.bundles import write_classification_bundle, write_matching_bundle
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    UserFactory,
    add_member,
    api_key,
)

__all__ = [
    "ChallengeFactory",
    "Participant",
    "TeamFactory",
    "UserFactory",
    "api_client_for",
    "assert_scores_equal",
    "csv_bytes",
    "imported_task",
    "make_participant",
    "parquet_bytes",
    "predictions_frame",
    "sklearn_scores",
    "solution_frame",
    "upload",
]


def imported_task(
    tmp_path: Path,
    *,
    kind: str = "classification",
    challenge: Challenge | None = None,
    slug: str | None = None,
    rows: int = 60,
    **overrides: Any,
) -> Task:
    """A small valid bundle imported through ``task_import`` (real standardized files)."""
    challenge = challenge or ChallengeFactory()
    slug = slug or f"{kind[:5]}-{challenge.slug}"
    writer = write_classification_bundle if kind == "classification" else write_matching_bundle
    folder = writer(tmp_path / f"bundle-{slug}", rows=rows, task={"slug": slug}, **overrides)
    return task_import(
        source=folder, challenge_slug=challenge.slug, track_slug=f"{kind}-{challenge.slug}"
    )


@dataclass(frozen=True)
class Participant:
    user: Any
    team: Team

    def api(self) -> APIClient:
        return api_client_for(self.user)


def make_participant(
    challenge: Challenge, *, username: str | None = None, **team: Any
) -> Participant:
    user = UserFactory(**({"username": username} if username else {}))
    team_row = TeamFactory(challenge=challenge, **team)
    add_member(team_row, user)
    return Participant(user=user, team=team_row)


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


def solution_frame(task: Task) -> pd.DataFrame:
    """The stored solution (id, label, split), read straight from private storage."""
    with task.solution.open("rb") as handle:
        return pd.read_parquet(io.BytesIO(handle.read()))


def predictions_frame(
    task: Task, *, wrong: float = 0.3, scores: bool = True, shuffle: bool = False, seed: int = 0
) -> pd.DataFrame:
    """A valid submission: a share of the labels wrong, plus proba_<class> or score."""
    rng = np.random.default_rng(seed)
    truth = solution_frame(task)
    n = len(truth)
    flip = rng.random(n) < wrong
    if task.kind == "classification":
        classes = list(task.classes)
        codes = truth["label"].map(classes.index).to_numpy()
        pred = np.where(flip, (codes + 1) % len(classes), codes)
        frame = pd.DataFrame({"id": truth["id"], "label": [classes[c] for c in pred]})
        if scores:
            proba = rng.dirichlet(np.ones(len(classes)), size=n)
            proba[np.arange(n), pred] += 1.0
            proba /= proba.sum(axis=1, keepdims=True)
            for j, name in enumerate(classes):
                frame[f"proba_{name}"] = proba[:, j]
    else:
        y = truth["label"].astype(int).to_numpy()
        pred = np.where(flip, 1 - y, y)
        frame = pd.DataFrame({"id": truth["id"], "label": pred})
        if scores:
            frame["score"] = np.clip(pred * 0.6 + rng.random(n) * 0.4, 0, 1)
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame


def csv_bytes(frame: pd.DataFrame, *, gzipped: bool = False) -> bytes:
    data = frame.to_csv(index=False).encode()
    return gzip.compress(data) if gzipped else data


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def upload(content: bytes, name: str = "predictions.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def sklearn_scores(task: Task, frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """What scikit-learn says ``frame`` scores on each split of ``task``."""
    truth = solution_frame(task).merge(frame, on="id", suffixes=("", "_pred"))
    splits = {
        "all": truth,
        "public": truth[truth.split == "public"],
        "private": truth[truth.split == "private"],
    }
    out: dict[str, dict[str, float]] = {}
    for split, rows in splits.items():
        if task.kind == "classification":
            classes = list(task.classes)
            out[split] = {
                "accuracy": sk.accuracy_score(rows.label, rows.label_pred),
                "macro_f1": sk.f1_score(
                    rows.label, rows.label_pred, average="macro", labels=classes, zero_division=0
                ),
            }
            if f"proba_{classes[0]}" in rows:
                proba = rows[[f"proba_{c}" for c in classes]].to_numpy()
                out[split]["log_loss"] = sk.log_loss(rows.label, proba, labels=classes)
        else:
            y, pred = rows.label.astype(int), rows.label_pred.astype(int)
            out[split] = {
                "f1": sk.f1_score(y, pred, zero_division=0),
                "precision": sk.precision_score(y, pred, zero_division=0),
                "recall": sk.recall_score(y, pred, zero_division=0),
            }
            if "score" in rows:
                out[split]["average_precision"] = sk.average_precision_score(y, rows.score)
    return out


def assert_scores_equal(actual: dict, expected: dict) -> None:
    import pytest

    assert set(actual) == {"all", "public", "private"}
    for split, values in expected.items():
        # OPIS has no scikit-learn counterpart (tests/scoring_tests/test_core_opis.py).
        assert set(actual[split]) - {"opis"} == set(values), split
        for name, value in values.items():
            assert actual[split][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (split, name)
