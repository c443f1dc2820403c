"""``GET /api/v1/tracks/<slug>/results.parquet`` (and ``.csv``): the track's results as data,
equal value by value to the task boards and the transfer matrix the API serves, never a
private value before the reveal (anonymous and participant), formula-safe as CSV."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from algorithms.models import REPRODUCTION_PROFILE, AlgorithmRun, AlgorithmRunStatus
from challenges.models import Challenge
from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.results.export import COLUMNS
from leaderboard.services import leaderboard_bootstrap_compute
from tests.challenges_tests.factories import UserFactory
from tests.scoring_tests.factories import api_client_for, make_participant

from .benchmark_world import CPU, _submit, bench_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def world_with_everything(tmp_path: Path):
    """bench_world's three teams (each an algorithm run per task, the AutoGluon baseline)
    with manifests, one reproduction, a team that uploads a file, and intervals."""
    world = bench_world(tmp_path)
    for name, algorithm in world.algorithms.items():
        for run in AlgorithmRun.objects.filter(version__algorithm=algorithm):
            run.manifest = {
                "archive_sha256": f"{name[0]}" * 64,
                "task_data_version": 1,
                "wall_seconds": 100.0 + run.cpu_seconds,
            }
            run.peak_memory_mb = 256.0
            run.save(update_fields=["manifest", "peak_memory_mb"])
    owls_t_one = AlgorithmRun.objects.get(
        version__algorithm=world.algorithms["owls"], task__slug="t-one"
    )
    AlgorithmRun.objects.create(
        version=owls_t_one.version,
        task=owls_t_one.task,
        profile=REPRODUCTION_PROFILE,
        status=AlgorithmRunStatus.SUCCEEDED,
        reproduces=owls_t_one,
        agreement=0.97,
    )
    wrens = make_participant(world.challenge, username="wren", name="=wrens")  # formula-like
    for offset, task in enumerate(world.tasks.values()):
        _submit(tmp_path, task, wrens.team, 0.2, 200 + offset)
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
        leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)  # the intervals
    cache.clear()
    return world, wrens


def parquet(api, track) -> pd.DataFrame:
    response = api.get(f"/api/v1/tracks/{track.slug}/results.parquet")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    return pq.read_table(io.BytesIO(response.content)).to_pandas()


def csv(api, track) -> str:
    response = api.get(f"/api/v1/tracks/{track.slug}/results.csv")
    assert response.status_code == 200
    return response.content.decode("utf-8")


def close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def rows_of(frame: pd.DataFrame, **where) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        mask &= frame[key].isna() if value is None else frame[key] == value
    return frame[mask]


def expected_rows(api, world, split: str) -> list[tuple]:
    """Every value the boards and the transfer matrix give ``split``: (method or team, task,
    metric, value, ci_low, ci_high), from the public API alone."""
    expected = []
    for slug in world.tasks:
        board = api.get(f"/api/v1/tasks/{slug}/leaderboard/?split={split}").json()
        for entry in board["entries"]:
            who = ("team", entry["team"]) if entry["team_id"] is not None else (
                "method",
                entry["reference"],
            )
            metrics = dict(entry["metrics"])
            if entry["score"] is not None:
                metrics[board["primary_metric"]] = entry["score"]
            for metric, value in metrics.items():
                if value is None:
                    continue
                primary = metric == board["primary_metric"]
                ci = (entry["score_low"], entry["score_high"]) if primary else (None, None)
                expected.append((who, slug, metric, value, *ci))
            for metric in ("nfr", "pfr"):
                if entry[metric] is not None:
                    ci = (entry[f"{metric}_low"], entry[f"{metric}_high"])
                    expected.append((who, slug, metric, entry[metric], *ci))
    transfer = api.get(f"/api/v1/tracks/{world.track.slug}/transfer/?split={split}").json()
    teams = {a["id"]: a["team"] for a in transfer["algorithms"]}
    for cell in transfer["cells"]:
        if cell["status"] != "succeeded":
            continue
        who = ("team", teams[cell["algorithm"]])
        expected.append((who, cell["task"], "accuracy", cell["score"], None, None))
        if cell["delta"] is not None:
            expected.append((who, cell["task"], "delta", cell["delta"], *cell["ci"]))
    return expected


def assert_equal_to_boards_and_matrix(frame: pd.DataFrame, api, world, split: str) -> None:
    mine = rows_of(frame, split=split)
    matched: set[int] = set()
    for (kind, name), task, metric, value, low, high in expected_rows(api, world, split):
        found = rows_of(mine, task=task, metric=metric, **{kind: name})
        if kind == "method":
            found = rows_of(found, team=None)
        assert len(found), (name, task, metric)
        hits = [
            i
            for i, row in found.iterrows()
            if close(value, row["value"])
            and ((metric == "accuracy" and low is None) or close(low, row["ci_low"]))
            and ((metric == "accuracy" and high is None) or close(high, row["ci_high"]))
        ]
        assert hits, (name, task, metric, value, found[["method", "value", "ci_low"]])
        matched.update(hits)
    # nothing else: every row of the export is one of those values
    assert matched == set(mine.index)


def test_the_results_equal_the_boards_and_the_transfer_matrix_value_by_value(tmp_path):
    world, wrens = world_with_everything(tmp_path)
    anonymous = APIClient()
    frame = parquet(anonymous, world.track)
    assert tuple(frame.columns) == COLUMNS
    assert set(frame["split"]) == {"public"}
    assert_equal_to_boards_and_matrix(frame, anonymous, world, "public")
    # one row per (method, team, task, split, metric)
    keys = frame[["method", "team", "task", "split", "metric"]].astype(str)
    assert not keys.duplicated().any()
    # every method: the three algorithms, the uploaded file and the AutoGluon baseline
    methods = set(frame["method"].dropna())
    assert {"owls-method v1", "hawks-method v1", "crows-method v1"} <= methods
    assert "AutoGluon baseline" in methods
    assert rows_of(frame, team="=wrens")["method"].isna().all()
    # cost and provenance of what a run made; none for an uploaded file
    owls = rows_of(frame, team="owls", task="t-one", metric="accuracy").iloc[0]
    assert owls["cpu_seconds"] == CPU["owls"] and owls["peak_memory_mb"] == 256.0
    assert owls["wall_seconds"] == 100.0 + CPU["owls"]
    assert owls["archive_sha256"] == "o" * 64 and owls["data_version"] == 1
    assert owls["reproduced"] == pytest.approx(0.97)
    assert math.isnan(rows_of(frame, team="owls", task="t-two").iloc[0]["reproduced"])
    wren = rows_of(frame, team="=wrens", task="t-one", metric="accuracy").iloc[0]
    assert math.isnan(wren["cpu_seconds"]) and wren["archive_sha256"] is None
    assert wren["data_version"] == 1 and wren["direction"] == "higher"
    assert wren["ci_low"] <= wren["value"] <= wren["ci_high"]
    assert set(rows_of(frame, metric="nfr")["direction"]) == {"lower"}
    # the CSV holds the same table, formula-safe
    text = csv(anonymous, world.track)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert "'=wrens" in text and ",=wrens" not in text
    from_csv = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    from_csv["team"] = from_csv["team"].str.replace("'=", "=", regex=False)
    pd.testing.assert_series_equal(from_csv["value"], frame["value"], check_names=False)
    assert list(from_csv["team"].fillna("")) == list(frame["team"].fillna(""))


def private_numbers(world) -> set[float]:
    """The private values of the boards and the matrix (the organizer's view) that no public
    value equals: accuracies on a few dozen rows are fractions with small denominators, so
    a private 14/42 is also a public 6/18 and says nothing."""
    organizer = api_client_for(UserFactory(username="boss", is_staff=True))

    def numbers(split: str) -> set[float]:
        rows = expected_rows(organizer, world, split)
        return {v for *_, value, low, high in rows for v in (value, low, high) if v is not None}

    public = numbers("public")
    return {v for v in numbers("private") if not any(math.isclose(v, p) for p in public)}


def test_no_private_value_before_the_reveal_anonymous_or_participant(tmp_path):
    world, wrens = world_with_everything(tmp_path)
    secret = private_numbers(world)
    assert len(secret) > 10  # the check below is not vacuous
    participant = api_client_for(wrens.user)
    for api in (APIClient(), participant):
        for query in ("", "?split=private", "?split=all"):  # no parameter opens it
            response = api.get(f"/api/v1/tracks/{world.track.slug}/results.parquet{query}")
            frame = pq.read_table(io.BytesIO(response.content)).to_pandas()
            assert set(frame["split"]) == {"public"}
            shown = {v for c in ("value", "ci_low", "ci_high") for v in frame[c].dropna()}
            assert not any(math.isclose(a, b) for a in shown for b in secret)
            text = api.get(f"/api/v1/tracks/{world.track.slug}/results.csv{query}").content
            assert b",private," not in text
            assert not [v for v in secret if repr(v).encode() in text]
    # organizers read both splits; everyone does once revealed
    organizer = api_client_for(UserFactory(username="org", is_staff=True))
    frame = parquet(organizer, world.track)
    assert set(frame["split"]) == {"public", "private"}
    assert_equal_to_boards_and_matrix(frame, organizer, world, "private")
    Challenge.objects.filter(pk=world.challenge.pk).update(private_revealed=True)
    cache.clear()
    frame = parquet(participant, world.track)
    assert set(frame["split"]) == {"public", "private"}
    assert_equal_to_boards_and_matrix(frame, participant, world, "private")


def test_unknown_track_is_404_and_an_empty_track_an_empty_table(tmp_path):
    from tests.challenges_tests.factories import ChallengeFactory, TrackFactory

    assert APIClient().get("/api/v1/tracks/nope/results.parquet").status_code == 404
    assert APIClient().get("/api/v1/tracks/nope/results.csv").status_code == 404
    track = TrackFactory(challenge=ChallengeFactory())
    frame = parquet(APIClient(), track)
    assert frame.empty and tuple(frame.columns) == COLUMNS
    assert csv(APIClient(), track).strip() == ",".join(COLUMNS)
