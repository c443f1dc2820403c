"""The regression kind without a database: metrics against scikit-learn, reading hostile
values, its bundle rules, the bootstrap in the lower-is-better direction, flips with a
tolerance, the track value and the trivial reference."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from common.flips import split_flips
from datasets.core import BundleInvalid, prepare_task
from kinds import kind_get, metric_info
from leaderboard.core.bootstrap import bootstrap_leaderboard, point_scores
from leaderboard.core.ranking import SubmissionInput, rank_entries, select_team_best
from leaderboard.core.track import relative_to_baseline, track_standings
from leaderboard.core.transfer import transfer_cell
from scoring.core import Aligned, Solution, SubmissionInvalid, score_file
from testkit.bundles import write_regression_bundle

KIND = kind_get("regression")


def solution(y: np.ndarray, is_public: np.ndarray, tolerance: float = 0.5) -> Solution:
    return Solution(
        ids=pa.array([f"r{i}" for i in range(y.size)], pa.string()),
        y=np.asarray(y, dtype=np.float64),
        is_public=np.asarray(is_public, dtype=bool),
        classes=[],
        kind="regression",
        options={"tolerance": tolerance},
    )


def sklearn_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    if y.size == 0:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # r2_score warns on one sample (and returns NaN)
        return {
            "rmse": skm.mean_squared_error(y, pred) ** 0.5,
            "mae": skm.mean_absolute_error(y, pred),
            "r2": skm.r2_score(y, pred),
        }


def assert_like_sklearn(metrics: dict, y: np.ndarray, pred: np.ndarray) -> None:
    expected = sklearn_metrics(y, pred)
    assert set(metrics) == set(expected)
    for name, value in expected.items():
        if math.isnan(value):
            assert math.isnan(metrics[name]), name
        else:
            assert metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name


values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def cases(draw):
    n = draw(st.integers(1, 60))
    constant = draw(st.booleans())
    y = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    if constant:
        y = np.full(n, y[0])
    pred = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    if draw(st.booleans()):
        pred = y.copy()  # perfect: constant truth then scores r2 = 1 (sklearn's convention)
    is_public = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return y, pred, is_public


@settings(max_examples=300, deadline=None)
@given(cases())
def test_metrics_per_split_equal_scikit_learn(case):
    y, pred, is_public = case
    truth = solution(y, is_public)
    metrics = KIND.evaluate(Aligned(pred=pred), truth)
    for split, mask in (("all", slice(None)), ("public", is_public), ("private", ~is_public)):
        assert_like_sklearn(metrics[split], y[mask], pred[mask])


def test_edge_cases_follow_scikit_learn_s_conventions():
    y = np.array([3.0, 3.0, 3.0, 3.0])
    one = np.array([True, False, False, False])
    perfect = KIND.evaluate(Aligned(pred=y.copy()), solution(y, one))
    off = KIND.evaluate(Aligned(pred=y + 1), solution(y, one))
    assert perfect["all"] == {"rmse": 0.0, "mae": 0.0, "r2": 1.0}  # constant truth, exact
    assert off["all"]["r2"] == 0.0 and off["all"]["rmse"] == 1.0  # constant truth, wrong
    assert math.isnan(off["public"]["r2"])  # one row: R² undefined (sklearn: NaN)
    assert KIND.evaluate(Aligned(pred=y), solution(y, np.ones(4, bool)))["private"] == {}


def test_every_metric_states_its_direction():
    assert [metric_info(n).direction for n in ("rmse", "mae", "r2")] == ["lower", "lower", "higher"]
    assert KIND.primary == "rmse" and KIND.metric_names(scores_given=False) == ["rmse", "mae", "r2"]


# --- reading a submission -----------------------------------------------------------------


def scored(csv: str, y=(1.0, 2.0, 3.0)):
    truth = solution(np.array(y), np.array([True, False, True]))
    return score_file(io.BytesIO(csv.encode()), truth)


def test_numbers_are_read_from_csv_text_and_parquet_in_any_row_order():
    result = scored("id,label\nr2, 3.5 \nr0,1e0\nr1,+2\n")
    assert result.aligned.pred.tolist() == [1.0, 2.0, 3.5]
    assert result.metrics["all"]["mae"] == pytest.approx(0.5 / 3)
    frame = pd.DataFrame({"id": ["r0", "r1", "r2"], "label": [1, 2, 3]})  # integers
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    out.seek(0)
    truth = solution(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
    assert score_file(out, truth).metrics["all"]["rmse"] == 0.0


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("id,label\nr0,1\nr1,nan\nr2,3\n", "1 row has an empty or NaN label, e.g. id 'r1'."),
        ("id,label\nr0,1\nr1,\nr2,3\n", "1 row has an empty label, e.g. id 'r1'."),
        ("id,label\nr0,inf\nr1,-Infinity\nr2,3\n", "2 rows have an infinite label"),
        (
            "id,label\nr0,1e308\nr1,2\nr2,3\n",
            "1 row has a label too large to score (beyond ±1e+150)",
        ),
        ("id,label\nr0,1e400\nr1,2\nr2,3\n", "an infinite label"),
        ("id,label\nr0,abc\nr1,1_000\nr2,3\n", "2 rows have a label that is not a number"),
        ("id,label\nr0,1\nr1,2\n", "1 test id is missing, e.g. 'r2'"),
        ("id,label\nr0,1\nr1,2\nr2,3\nr2,4\n", "1 id appears more than once"),
        ("id,label\nr0,1\nr1,2\nr9,3\n", "an id that is not in the test set, e.g. 'r9'"),
        ("id,cluster\nr0,1\nr1,2\nr2,3\n", "The file must have the columns 'id' and 'label'"),
    ],
)
def test_hostile_values_are_refused_with_a_clear_message(csv, message):
    with pytest.raises(SubmissionInvalid) as refused:
        scored(csv)
    assert message in refused.value.message


def test_a_boolean_label_column_is_refused():
    frame = pa.table({"id": ["r0", "r1", "r2"], "label": [True, False, True]})
    out = io.BytesIO()
    import pyarrow.parquet as pq

    pq.write_table(frame, out)
    out.seek(0)
    with pytest.raises(SubmissionInvalid, match="expected a number per row"):
        score_file(out, solution(np.array([1.0, 2.0, 3.0]), np.array([True, False, True])))


# --- the bundle -----------------------------------------------------------------------------


def test_a_regression_bundle_is_standardized_with_a_tolerance_and_a_card(tmp_path: Path):
    task = prepare_task(write_regression_bundle(tmp_path / "b", rows=200), work_dir=tmp_path / "w")
    train = pd.read_parquet(task.files["train.parquet"])
    assert train["label"].dtype == np.float64
    assert task.meta["kind"] == "regression" and task.meta["primary_metric"] == "rmse"
    assert task.meta["tolerance"] == pytest.approx(np.std(train["label"].to_numpy()) / 10)
    card = task.card["label_distribution"]
    assert card["count"] == 200 and card["min"] == train["label"].min()
    assert sum(b["count"] for b in card["histogram"]) == 200
    assert "class_balance" not in task.card
    solution_file = pd.read_parquet(task.files["private/solution.parquet"])
    public = solution_file[solution_file.split == "public"]
    assert len(public) == 30  # 0.3 of 100 test rows, taken in every decile of the label
    bins = pd.qcut(solution_file["label"], 10, labels=False)
    assert bins[solution_file.split == "public"].nunique() == 10


def test_a_tolerance_of_the_organizer_is_kept(tmp_path: Path):
    folder = write_regression_bundle(tmp_path / "b", task={"tolerance": 0.25, "metric": "r2"})
    task = prepare_task(folder, work_dir=tmp_path / "w")
    assert task.meta["tolerance"] == 0.25 and task.meta["primary_metric"] == "r2"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {
                "train": lambda df: df.assign(
                    label=df.label.astype(object).where(df.index != 2, "x")
                )
            },
            "regression labels must be numbers; other values in 1 row (data rows 3): 'x'",
        ),
        (
            {"solution": lambda df: df.assign(label=df.label.where(df.index != 0, 1e300))},
            "regression labels must be finite numbers of magnitude at most 1e+150; 1 row are not",
        ),
        ({"train": lambda df: df.assign(label=5.0)}, "at least 2 different values"),
        ({"task": {"tolerance": -1}}, "tolerance must be a finite number >= 0"),
        ({"task": {"tolerance": "wide"}}, "tolerance must be a number >= 0"),
        ({"task": {"metric": "mae"}}, "metric 'mae' is not available for regression"),
        ({"task": {"kind": "classification", "tolerance": 1}}, "'tolerance' applies to regression"),
        ({"train": lambda df: df.assign(label=None)}, "empty label in 60 rows"),
    ],
)
def test_a_broken_regression_bundle_lists_its_problems(tmp_path: Path, overrides, expected):
    with pytest.raises(BundleInvalid) as refused:
        prepare_task(write_regression_bundle(tmp_path / "b", **overrides), work_dir=tmp_path / "w")
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems


# --- boards -----------------------------------------------------------------------------------


def test_the_bootstrap_ranks_lower_rmse_first_and_points_equal_the_metrics():
    rng = np.random.default_rng(3)
    y = rng.normal(10, 3, 800)
    good, weak = y + rng.normal(0, 1, 800), y + rng.normal(0, 2, 800)
    result = bootstrap_leaderboard(y=y, preds=[weak, good], kind="regression", n_resamples=300)
    assert result.best == 1 and not result.higher_is_better
    assert result.entries[1].rank_low == result.entries[1].rank_high == 1
    assert result.entries[0].rank_low == 2
    assert result.tied_with_best == frozenset({1})
    assert result.entries[0].diff_low > 0  # how much better the best is, in RMSE units
    assert result.entries[1].score == pytest.approx(skm.mean_squared_error(y, good) ** 0.5)
    interval = result.entries[1]
    assert interval.score_low < interval.score < interval.score_high
    r2 = point_scores(y=y, preds=[weak, good], kind="regression", metric="r2")
    assert r2 == pytest.approx([skm.r2_score(y, weak), skm.r2_score(y, good)])


def test_large_regression_boards_draw_blocks_and_agree_with_the_points(monkeypatch):
    from leaderboard.core import resampling

    rng = np.random.default_rng(5)
    y = rng.normal(0, 1, 40_000)
    preds = [y + rng.normal(0, s, y.size) for s in (0.5, 0.6)]
    monkeypatch.setattr(resampling, "ROW_BOOTSTRAP_MAX_ROWS", 10_000)
    for metric in ("rmse", "r2"):
        result = bootstrap_leaderboard(
            y=y, preds=preds, kind="regression", metric=metric, n_resamples=200
        )
        assert [e.score for e in result.entries] == pytest.approx(
            point_scores(y=y, preds=preds, kind="regression", metric=metric)
        )
        assert result.best == 0
        assert all(e.score_low <= e.score <= e.score_high for e in result.entries)


def test_ranking_puts_the_lowest_score_first_and_keeps_each_team_s_lowest():
    from datetime import UTC, datetime, timedelta

    at = datetime(2026, 1, 1, tzinfo=UTC)
    subs = [
        SubmissionInput(
            id=i,
            team_id=team,
            is_baseline=False,
            submitted_at=at + timedelta(minutes=i),
            public_score=score,
            private_score=score,
            higher_is_better=False,
        )
        for i, (team, score) in enumerate([("a", 2.0), ("a", 1.5), ("b", 1.7), ("c", 3.0)])
    ]
    board = rank_entries(select_team_best(subs, split="public"))
    assert [(r.entry.team_id, r.entry.score, r.rank) for r in board] == [
        ("a", 1.5, 1),
        ("b", 1.7, 2),
        ("c", 3.0, 3),
    ]


def test_a_row_is_right_within_the_tolerance_and_flips_count_so():
    truth = solution(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, True, False, False]))
    pred = np.array([1.4, 2.6, 3.0, 9.0])
    reference = np.array([1.0, 2.0, 5.0, 4.2])
    assert truth.is_right(truth.y, pred).tolist() == [True, False, True, False]
    reports = split_flips(
        y=truth.y,
        pred=pred,
        reference=reference,
        is_public=truth.is_public,
        is_right=truth.is_right,
    )
    assert (reports["all"].negative, reports["all"].positive) == (2, 1)
    assert reports["public"].negative_share == 0.5


def test_a_regression_task_counts_as_its_clipped_r2_on_a_track():
    assert KIND.track_value("rmse", 1.2, {"r2": 0.81}) == 0.81
    assert KIND.track_value("rmse", 9.0, {"r2": -3.0}) == 0.0
    assert KIND.track_value("r2", 0.5, {}) == 0.5
    assert KIND.track_value("rmse", 1.0, {"r2": None}) is None
    rows = track_standings(
        ["cls", "reg"],
        {"cls": {"a": 0.9, "b": 0.8}, "reg": {"a": 4.0, "b": 1.0}},  # b has the lower RMSE
        set(),
        values={"cls": {"a": 0.9, "b": 0.8}, "reg": {"a": 0.2, "b": 0.9}},
        higher_is_better={"cls": True, "reg": False},
    )
    assert [(r.team_id, r.mean_score, r.task_ranks["reg"]) for r in rows] == [
        ("b", pytest.approx(0.85), 1),
        ("a", pytest.approx(0.55), 2),
    ]
    assert rows[0].task_scores == {"cls": 0.8, "reg": 1.0}  # each task's own score shown
    matrix = relative_to_baseline(
        {"reg": {"a": 4.0, "b": 1.0}}, {"reg": 2.0}, higher_is_better={"reg": False}
    )
    assert (matrix.cell("a", "reg").delta, matrix.cell("b", "reg").delta) == (-2.0, 1.0)


def test_a_transfer_cell_is_positive_when_the_rmse_is_lower_than_the_baseline_s():
    rng = np.random.default_rng(9)
    y = rng.normal(0, 1, 500)
    cell = transfer_cell(
        y=y,
        pred=y + rng.normal(0, 0.3, 500),
        baseline_pred=y + 1.0,
        kind="regression",
        n_resamples=200,
    )
    assert cell.score < cell.baseline and cell.delta == pytest.approx(cell.baseline - cell.score)
    assert 0 < cell.delta_low <= cell.delta <= cell.delta_high


def test_the_trivial_reference_predicts_the_train_mean():
    truth = solution(np.array([1.0, 5.0, 9.0]), np.array([True, False, True]))
    columns = KIND.trivial(pa.chunked_array([[2.0, 4.0, 9.0]]), truth)
    assert columns["label"].to_pylist() == [5.0, 5.0, 5.0]
