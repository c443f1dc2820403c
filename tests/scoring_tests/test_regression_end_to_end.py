"""Regression end to end: ``import_task`` of a bundle, the dataset card, uploads through the
API (a real worker) and the web form, ``score_file`` in a subprocess, the submission page,
and hostile files refused with clear messages (never a 500)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.test import Client
from sklearn import metrics as skm

from datasets.models import Task
from datasets.services import task_import
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from testkit.bundles import write_regression_bundle
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    make_participant,
    parquet_bytes,
    solution_frame,
    upload,
)
from tests.scoring_tests.score_file_command_helpers import run_score_file
from tests.scoring_tests.worker_helpers import api_upload, poll_until_final
from tests.support.celery_worker import run_manage

SPLITS = ("all", "public", "private")


def regression_task(tmp_path: Path, challenge, *, slug: str = "prices", rows: int = 120) -> Task:
    folder = write_regression_bundle(tmp_path / f"bundle-{slug}", rows=rows, task={"slug": slug})
    return task_import(source=folder, challenge_slug=challenge.slug, track_slug="numbers")


def noisy(task: Task, *, sigma: float = 1.0, seed: int = 0, shuffle: bool = False) -> pd.DataFrame:
    truth = solution_frame(task)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"id": truth["id"], "label": truth["label"] + rng.normal(0, sigma, len(truth))}
    )
    return frame.sample(frac=1.0, random_state=seed) if shuffle else frame


def sklearn_regression(task: Task, frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    rows = solution_frame(task).merge(frame, on="id", suffixes=("", "_pred"))
    out = {}
    for split in SPLITS:
        part = rows if split == "all" else rows[rows.split == split]
        y, pred = part["label"].to_numpy(), part["label_pred"].to_numpy()
        out[split] = {
            "rmse": skm.mean_squared_error(y, pred) ** 0.5,
            "mae": skm.mean_absolute_error(y, pred),
            "r2": skm.r2_score(y, pred),
        }
    return out


def assert_close(actual: dict, expected: dict) -> None:
    assert set(actual) == set(SPLITS)
    for split, values in expected.items():
        assert set(actual[split]) == set(values), split
        for name, value in values.items():
            assert actual[split][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (split, name)


@pytest.mark.django_db(transaction=True)
def test_import_task_imports_a_regression_bundle_and_says_what_its_label_is(tmp_path):
    folder = write_regression_bundle(tmp_path / "b", task={"slug": "house-prices"}, fmt="parquet")
    result = run_manage("import_task", str(folder), "--challenge", "num-cup", "--track", "nums")
    assert result.returncode == 0, result.stderr
    assert "kind:      regression (primary metric: rmse)" in result.stdout
    assert "label:     number" in result.stdout
    task = Task.objects.get(slug="house-prices")
    assert task.kind == "regression" and task.get_kind_display() == "regression"
    assert task.classes == [] and task.meta["tolerance"] > 0
    assert task.card["label_distribution"]["count"] == 60

    broken = write_regression_bundle(
        tmp_path / "broken",
        task={"slug": "broken-prices", "tolerance": "wide"},
        train=lambda df: df.assign(label=df.label.astype(object).where(df.index != 1, "twelve")),
    )
    refused = run_manage("import_task", str(broken), "--challenge", "num-cup", "--track", "nums")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "tolerance must be a number >= 0" in refused.stderr
    said = "regression labels must be numbers; other values in 1 row (data rows 2): 'twelve'"
    assert said in refused.stderr
    assert not Task.objects.filter(slug="broken-prices").exists()


@pytest.mark.django_db
def test_the_task_page_shows_the_label_distribution_and_the_submit_hint(tmp_path):
    challenge = ChallengeFactory()
    task = regression_task(tmp_path, challenge)
    client = Client()
    client.force_login(make_participant(challenge).user)
    page = client.get(f"/tasks/{task.slug}/").content.decode()
    assert 'data-role="label-distribution"' in page and "Label distribution" in page
    assert "mean label" in page and "Class balance" not in page
    assert "<td>number</td>" in page  # the label row of the columns table
    form = client.get(f"/tasks/{task.slug}/submit/").content.decode()
    assert "<code>label</code> (a number)" in form


@pytest.mark.django_db(transaction=True)
def test_api_uploads_are_scored_by_a_real_worker_like_scikit_learn(
    scoring_worker, tmp_path, broker
):
    challenge = ChallengeFactory(daily_submission_limit=50, private_revealed=True)
    task = regression_task(tmp_path, challenge)
    client = make_participant(challenge).api()
    frames = {
        "csv": noisy(task, seed=1, shuffle=True),
        "parquet": noisy(task, seed=2),
        "gz": noisy(task, seed=3, shuffle=True),
    }
    files = {
        "csv": csv_bytes(frames["csv"]),
        "parquet": parquet_bytes(frames["parquet"]),
        "gz": csv_bytes(frames["gz"], gzipped=True),
    }
    pks = {name: api_upload(client, task, files[name], f"p.{name}") for name in files}
    for name, pk in pks.items():
        body = poll_until_final(client, pk, scoring_worker)
        assert body["status"] == "scored", body["error"]
        assert_close(body["scores"], sklearn_regression(task, frames[name]))
        assert body["metrics"]["rmse"]["direction"] == "lower"
        assert body["metrics"]["r2"]["higher_is_better"] is True


@pytest.mark.django_db
def test_the_web_form_scores_a_file_and_the_page_shows_the_errors(tmp_path):
    challenge = ChallengeFactory(daily_submission_limit=50)
    task = regression_task(tmp_path, challenge)
    participant = make_participant(challenge)
    client = Client()
    client.force_login(participant.user)
    frame = noisy(task, sigma=0.5, seed=4)
    response = client.post(f"/tasks/{task.slug}/submit/", {"file": upload(csv_bytes(frame))})
    assert response.status_code == 302
    submission = Submission.objects.get(team=participant.team)
    assert submission_score(submission_pk=submission.pk) == SubmissionStatus.SCORED
    submission.refresh_from_db()
    assert submission.public_score == pytest.approx(
        sklearn_regression(task, frame)["public"]["rmse"]
    )
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert 'data-role="residual-histogram"' in page and 'data-role="within-tolerance"' in page
    assert "rmse" in page.lower() and "Confusion matrix" not in page


@pytest.mark.django_db(transaction=True)
def test_score_file_prints_rmse_mae_and_r2_per_split_and_flips_with_a_reference(tmp_path):
    challenge = ChallengeFactory()
    task = regression_task(tmp_path, challenge)
    mine, reference = noisy(task, sigma=0.2, seed=5), noisy(task, sigma=3.0, seed=6)
    (tmp_path / "mine.parquet").write_bytes(parquet_bytes(mine))
    (tmp_path / "ref.csv").write_bytes(csv_bytes(reference))
    (tmp_path / "bad.csv").write_bytes(b"id,label\nq0060,nan\n")
    plain, flips, bad = run_score_file(
        ("--task", task.slug, str(tmp_path / "mine.parquet")),
        (
            "--task",
            task.slug,
            str(tmp_path / "mine.parquet"),
            "--reference",
            str(tmp_path / "ref.csv"),
        ),
        ("--task", task.slug, str(tmp_path / "bad.csv")),
    )
    assert plain.returncode == 0, plain.stderr
    scores = json.loads(plain.stdout)
    # docs/architecture.md §7's shape: all, public, private
    assert list(scores) == list(SPLITS)
    assert_close(scores, sklearn_regression(task, mine))
    with_flips = json.loads(flips.stdout)
    truth = solution_frame(task).merge(mine, on="id", suffixes=("", "_m"))
    truth = truth.merge(reference, on="id", suffixes=("", "_r"))
    tolerance = task.meta["tolerance"]
    right = (truth.label_m - truth.label).abs() <= tolerance
    ref_right = (truth.label_r - truth.label).abs() <= tolerance
    assert with_flips["all"]["nfr"] == pytest.approx((ref_right & ~right).mean())
    assert with_flips["all"]["pfr"] == pytest.approx((right & ~ref_right).mean())
    assert set(with_flips["public"]) == {"rmse", "mae", "r2", "nfr", "pfr"}
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


HOSTILE = {
    "nan": ("nan", "an empty or NaN label"),
    "inf": ("inf", "an infinite label"),
    "text": ("cheap", "a label that is not a number: 'cheap'"),
    "huge": ("1e308", "a label too large to score"),
}


@pytest.mark.django_db
def test_hostile_files_fail_with_a_clear_message_and_never_a_500(tmp_path, settings):
    challenge = ChallengeFactory(daily_submission_limit=100)
    task = regression_task(tmp_path, challenge, rows=40)
    participant = make_participant(challenge)
    client = participant.api()
    good = noisy(task, seed=7)
    ids = good["id"].tolist()
    bodies = {}
    for name, (value, _) in HOSTILE.items():
        lines = ["id,label", *(f"{i},{value if n == 3 else 1.5}" for n, i in enumerate(ids))]
        bodies[name] = "\n".join(lines).encode()
    bodies["missing"] = csv_bytes(good.iloc[1:])
    bodies["duplicate"] = csv_bytes(pd.concat([good, good.iloc[:2]]))
    many = "id,label\n" + "".join(f"x{i},1.0\n" for i in range(5_000_000))
    bodies["5M rows"] = gzip.compress(many.encode(), compresslevel=1)
    expected = {
        **{name: words for name, (_, words) in HOSTILE.items()},
        "missing": "test id is missing",
        "duplicate": "ids appear more than once",
        "5M rows": "but the task has 20 test rows: submit one row per test id",
    }
    for name, body in bodies.items():
        response = client.post(
            f"/api/v1/tasks/{task.slug}/submissions/",
            {"file": upload(body, f"{name}.csv.gz" if name == "5M rows" else f"{name}.csv")},
            format="multipart",
        )
        assert response.status_code == 201, (name, response.status_code, response.content[:300])
        submission = Submission.objects.get(pk=response.json()["id"])
        assert submission_score(submission_pk=submission.pk) == SubmissionStatus.FAILED, name
        submission.refresh_from_db()
        assert expected[name] in submission.error, (name, submission.error)
        assert submission.scores == {} and submission.public_score is None
        shown = client.get(f"/api/v1/submissions/{submission.pk}/")
        assert shown.status_code == 200 and shown.json()["status"] == "failed"
