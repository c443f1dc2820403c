"""Insight pages at scale (issue 16): a page view reads stored digests, not the solution.

The solution loader and the predictions reader of ``scoring.digests`` are wrapped with call
counters (they stay real); after the first computation a view calls neither, and what it
shows equals the direct computation on the full arrays.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError

from common.flips import split_flips
from kinds.confusion import confusion_matrix
from scoring import digests
from scoring.core import load_predictions
from scoring.core.metrics import task_curves
from scoring.core.opis import threshold_grid, utility_curves
from scoring.insight import submission_insight
from scoring.models import InsightDigest
from scoring.services import lifecycle
from scoring.services.upload import submission_create
from scoring.solutions import solution_for_task
from tests.scoring_tests import test_insight
from tests.scoring_tests.factories import (
    UserFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
    upload,
)
from tests.scoring_tests.insight_helpers import client_for, scored, wrong_on

pytestmark = pytest.mark.django_db

flip_case = test_insight.flip_case  # the hand-counted case of the insight tests


@pytest.fixture
def counted(monkeypatch):
    """Counts of the real solution loader and predictions reader behind the digests."""
    calls = {"solution": 0, "predictions": 0}
    load_solution, load_aligned = digests.solution_for_task, digests._load_aligned

    def solution(*, task):
        calls["solution"] += 1
        return load_solution(task=task)

    def aligned(submission):
        calls["predictions"] += 1
        return load_aligned(submission)

    monkeypatch.setattr(digests, "solution_for_task", solution)
    monkeypatch.setattr(digests, "_load_aligned", aligned)
    return calls


def aligned_of(submission):
    with submission.predictions.open("rb") as handle:
        return load_predictions(handle.read())


def test_scoring_stores_the_own_digest_and_views_then_read_only_digests(flip_case, counted):
    new, alice = flip_case["new"], flip_case["alice"]
    own = InsightDigest.objects.get(submission=new, reference=None)
    assert len(json.dumps(own.data)) < 8_000

    # Scoring stored the own digest and the flips against both references of the moment.
    assert InsightDigest.objects.filter(submission=new).count() == 3
    client = client_for(alice.user)
    for _ in range(3):
        page = client.get(f"/submissions/{new.pk}/").content.decode()
        insight = submission_insight(submission=new, user=alice.user)
    assert counted == {"solution": 0, "predictions": 0}, "a view loaded the arrays"
    assert 'data-reference="previous"' in page

    # The stored numbers are the direct computation on the full arrays.
    solution = solution_for_task(task=new.task)
    mine, previous = aligned_of(new), aligned_of(flip_case["previous"])
    direct = split_flips(
        y=solution.y,
        pred=mine.pred,
        reference=previous.pred,
        is_public=solution.is_public,
        examples=5,
    )["public"]
    shown = {c.key: c for c in insight.comparisons}["previous"]
    assert (shown.report.positive, shown.report.negative) == (direct.positive, direct.negative)
    assert (shown.report.both_right, shown.report.both_wrong, shown.report.n_rows) == (
        direct.both_right,
        direct.both_wrong,
        direct.n_rows,
    )
    ids = solution.ids.to_pylist()
    assert shown.negative_ids == [ids[i] for i in direct.negative_examples]
    assert own.data["confusion"]["public"] == (
        confusion_matrix(mine, solution, solution.is_public).tolist()
    )
    assert own.data["confusion"]["all"] == confusion_matrix(mine, solution).tolist()


def test_a_submission_scored_before_digests_computes_once_then_reads(flip_case, counted):
    new, alice = flip_case["new"], flip_case["alice"]
    InsightDigest.objects.all().delete()
    first = submission_insight(submission=new, user=alice.user)
    after_first = dict(counted)
    # Own digest + flips against the two references: the solution three times (it is cached
    # per process, so a real load happens at most once), the predictions 1 + 2 x 2 times.
    assert after_first == {"solution": 3, "predictions": 5}
    again = submission_insight(submission=new, user=alice.user)
    assert counted == after_first
    assert [c.report for c in again.comparisons] == [c.report for c in first.comparisons]
    assert again.n_rows == first.n_rows


def test_new_opis_settings_or_a_rescore_miss_the_old_digest(flip_case, counted):
    new, task = flip_case["new"], flip_case["task"]
    key = digests.digest_key(submission=new)
    task.opis = {**task.opis, "min_group_rows": 3}
    task.save(update_fields=["opis"])
    new.task.refresh_from_db()
    assert digests.digest_key(submission=new) != key
    submission_insight(submission=new, user=flip_case["alice"].user)
    assert counted["solution"] >= 1
    assert InsightDigest.objects.filter(submission=new, reference=None).count() == 1  # replaced

    previous = flip_case["previous"]
    before = digests.digest_key(submission=new, reference=previous)
    with previous.predictions.open("rb") as handle:
        content = handle.read()
    previous.predictions.save("rescored.npz", ContentFile(content), save=True)
    assert digests.digest_key(submission=new, reference=previous) != before


def test_a_reference_whose_predictions_are_gone_costs_only_its_own_flips(flip_case):
    # Scoring stores its digests together (one insert): a reference that cannot be read is
    # left out, and the own digest and the other reference's flips are stored all the same.
    task, alice, P = flip_case["task"], flip_case["alice"], flip_case["P"]
    for earlier in (flip_case["previous"], flip_case["new"]):
        earlier.predictions.storage.delete(earlier.predictions.name)
    newest = scored(
        submission_create(task=task, user=alice.user, file=upload(wrong_on(task, {P[0]})))
    )
    stored = InsightDigest.objects.filter(submission=newest)
    assert sorted(d.reference_id or 0 for d in stored) == [0, flip_case["baseline"].pk]


def test_opis_curves_are_stored_at_scoring_and_drawn(tmp_path, counted):
    task = imported_task(tmp_path, kind="classification", rows=200)
    task.opis = {**task.opis, "min_group_rows": 5, "range": [0.2, 0.8]}
    task.save(update_fields=["opis"])
    who = make_participant(task.track.challenge, username="olga")
    frame = predictions_frame(task, seed=4)
    submission = scored(submission_create(task=task, user=who.user, file=upload(csv_bytes(frame))))
    organizer = UserFactory(username="boss", is_staff=True)

    page = client_for(organizer).get(f"/submissions/{submission.pk}/").content.decode()
    assert counted == {"solution": 0, "predictions": 0}, "no reference, own digest stored"
    assert 'data-role="opis-curves"' in page and 'data-role="calibration-range"' in page

    stored = InsightDigest.objects.get(submission=submission, reference=None).data["opis"]
    solution = solution_for_task(task=task)
    aligned = aligned_of(submission)
    measured = task_curves(aligned, solution)["all"]
    assert stored["all"]["opis"] == pytest.approx(measured.opis)
    assert submission.scores["all"]["opis"] == pytest.approx(stored["all"]["opis"])
    assert stored["all"]["range"] == [0.2, 0.8]
    # The groups shown: the eligible ones, most divergent first (3 classes: all of them).
    divergences = [g["divergence"] for g in stored["all"]["groups"]]
    assert divergences == sorted(divergences, reverse=True)
    eligible = [str(n) for n, e in zip(measured.group_names, measured.eligible) if e]
    assert sorted(g["name"] for g in stored["all"]["groups"]) == sorted(eligible)
    # The drawn curves are F1 on [0, 1] at 101 thresholds, as the core computes them.
    full = utility_curves(
        y=solution.y,
        is_public=solution.is_public,
        settings=type(solution.opis)(range=(0.0, 1.0), min_group_rows=5),
        proba=aligned.proba,
        classes=list(solution.classes),
    )["all"]
    assert np.allclose(stored["all"]["pooled"], full.pooled_f1, atol=1e-4)
    first = list(full.group_names).index(stored["all"]["groups"][0]["name"])
    assert np.allclose(stored["all"]["groups"][0]["f1"], full.group_f1[first], atol=1e-4)
    assert len(stored["all"]["pooled"]) == threshold_grid(0, 1).size == 101


def test_the_curves_keep_only_the_top_five_groups(tmp_path):
    rng = np.random.default_rng(0)
    task = imported_task(tmp_path, kind="matching", rows=400)

    def with_shop(frame):
        frame["left_brand"] = rng.choice([f"b{i}" for i in range(8)], len(frame))
        return frame

    task = imported_task(tmp_path / "g", kind="matching", rows=400, test=with_shop, slug="mg")
    task.opis = {**task.opis, "group_column": "left_brand", "min_group_rows": 3}
    task.save(update_fields=["opis"])
    who = make_participant(task.track.challenge, username="max")
    frame = predictions_frame(task, seed=2)
    submission = scored(submission_create(task=task, user=who.user, file=upload(csv_bytes(frame))))
    stored = InsightDigest.objects.get(submission=submission, reference=None).data["opis"]
    measured = task_curves(aligned_of(submission), solution_for_task(task=task))["public"]
    top = np.sort(measured.divergence[measured.eligible])[::-1][:5]
    assert [g["divergence"] for g in stored["public"]["groups"]] == pytest.approx(top)
    assert stored["public"]["eligible_groups"] == int(measured.eligible.sum()) > 5


def test_digests_the_database_could_not_take_are_one_warning_line(flip_case, caplog, monkeypatch):
    """After a database restart the digests' write fails: one line that says so and what
    follows (the first view computes them), not a traceback in the operator's log."""
    task, alice = flip_case["task"], flip_case["alice"]

    def away(**kwargs):
        raise OperationalError("server closed the connection unexpectedly\nThis probably means")

    monkeypatch.setattr(lifecycle, "scoring_digests_store", away)
    with caplog.at_level("WARNING", logger="scoring.services.lifecycle"):
        submission = scored(
            submission_create(
                task=task, user=alice.user, file=upload(wrong_on(task, {flip_case["P"][0]}))
            )
        )
    [record] = [r for r in caplog.records if "no digest stored" in r.getMessage()]
    assert record.exc_info is None
    assert record.getMessage() == (
        f"no digest stored for submission {submission.pk}: the database was unavailable "
        "(server closed the connection unexpectedly); its first view computes it"
    )
    assert not InsightDigest.objects.filter(submission=submission).exists()
