"""Track standings and the relative-to-baseline matrix (no Django)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.core.track import ranked_tasks, relative_to_baseline, track_standings

T0 = datetime(2025, 3, 1, tzinfo=UTC)
TASKS = ["t1", "t2", "t3"]


def rows_by_team(rows):
    return {r.team_id: r for r in rows}


def test_missing_task_counts_zero_in_the_mean_and_is_listed():
    per_task = {
        "t1": {"full": 0.6, "partial": 0.9},
        "t2": {"full": 0.6, "partial": 0.9},
        "t3": {"full": 0.6},
    }
    rows = track_standings(TASKS, per_task, baseline_team_ids=set())
    by_team = rows_by_team(rows)
    assert by_team["partial"].mean_score == pytest.approx(0.6)  # (0.9 + 0.9 + 0) / 3
    assert by_team["partial"].missing == ("t3",)
    assert by_team["partial"].task_scores["t3"] is None
    assert by_team["full"].missing == ()
    assert by_team["full"].mean_score == pytest.approx(0.6)


def test_a_queued_or_running_task_is_left_out_of_the_mean_and_marks_it_partial():
    # The case: the baseline scored on t1 while its runs on t2 and t3 wait; counting
    # them as 0 gave it a third of its score and labelled them "missing".
    per_task = {
        "t1": {"base": 0.9, "a": 0.6},
        "t2": {"a": 0.6},
        "t3": {"a": 0.6, "b": 0.3},
    }
    pending = {"t2": {"base": "queued", "b": "running"}, "t3": {"base": "running"}}
    rows = rows_by_team(
        track_standings(TASKS, per_task, baseline_team_ids={"base"}, pending=pending)
    )
    base, a, b = rows["base"], rows["a"], rows["b"]
    assert base.mean_score == pytest.approx(0.9) and base.partial
    assert base.cells == {"t1": "scored", "t2": "queued", "t3": "running"}
    assert base.missing == ()
    # b: t1 missing (counts 0), t2 running (left out), t3 scored.
    assert b.mean_score == pytest.approx(0.3 / 2) and b.partial
    assert b.cells == {"t1": "missing", "t2": "running", "t3": "scored"}
    assert b.missing == ("t1",)
    assert a.mean_score == pytest.approx(0.6) and not a.partial
    assert set(a.cells.values()) == {"scored"}
    # A pending mark beside a score changes nothing: the score is there.
    again = rows_by_team(
        track_standings(
            TASKS, per_task, baseline_team_ids={"base"}, pending={"t1": {"a": "queued"}}
        )
    )
    assert again["a"].cells["t1"] == "scored" and not again["a"].partial
    # Without pending marks, missing counts 0 as before.
    plain = rows_by_team(track_standings(TASKS, per_task, baseline_team_ids={"base"}))
    assert plain["base"].mean_score == pytest.approx(0.3) and not plain["base"].partial
    assert plain["base"].missing == ("t2", "t3")


def test_order_by_mean_baseline_unranked_per_task_ranks_beside():
    per_task = {
        "t1": {"a": 0.9, "b": 0.8, "base": 0.99},
        "t2": {"a": 0.5, "b": 0.7, "base": 0.6},
        "t3": {"a": 0.9, "b": 0.7, "base": 0.75},
    }
    rows = track_standings(TASKS, per_task, baseline_team_ids={"base"})
    assert [(r.team_id, r.rank, r.position) for r in rows] == [
        ("base", None, 1),
        ("a", 1, 2),
        ("b", 2, 3),
    ]
    a = rows_by_team(rows)["a"]
    assert a.task_ranks == {"t1": 1, "t2": 2, "t3": 1}
    assert rows_by_team(rows)["base"].task_ranks == {"t1": None, "t2": None, "t3": None}


def test_equal_means_broken_by_earlier_latest_submission_then_none_last():
    per_task = {"t1": {"x": 0.8, "y": 0.6, "z": 0.7}, "t2": {"x": 0.6, "y": 0.8, "z": 0.7}}
    tie = {"x": T0 + timedelta(hours=2), "y": T0 + timedelta(hours=1)}
    rows = track_standings(["t1", "t2"], per_task, baseline_team_ids=(), tie_break_at=tie)
    assert [(r.team_id, r.rank) for r in rows] == [("y", 1), ("x", 2), ("z", 3)]


def test_task_ranks_passed_in_are_used_verbatim():
    per_task = {"t1": {"a": 0.8, "b": 0.8}}
    computed = rows_by_team(track_standings(["t1"], per_task, baseline_team_ids=()))
    assert computed["a"].task_ranks["t1"] == computed["b"].task_ranks["t1"] == 1
    given_ranks = {"t1": {"a": 2, "b": 1}}
    passed = rows_by_team(
        track_standings(["t1"], per_task, baseline_team_ids=(), task_ranks=given_ranks)
    )
    assert (passed["a"].task_ranks["t1"], passed["b"].task_ranks["t1"]) == (2, 1)


def test_tasks_outside_the_track_are_ignored_and_bad_input_rejected():
    per_task = {"t1": {"a": 0.5}, "other": {"a": 1.0, "b": 1.0}}
    rows = track_standings(["t1"], per_task, baseline_team_ids=())
    assert [(r.team_id, r.mean_score) for r in rows] == [("a", 0.5)]
    with pytest.raises(ValueError):
        track_standings([], per_task, baseline_team_ids=())
    with pytest.raises(ValueError):
        track_standings(["t1", "t1"], per_task, baseline_team_ids=())


@settings(deadline=None)  # timing belongs in bench/, not in a loaded CI
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=3, max_size=3),
        min_size=1,
    )
)
def test_mean_is_sum_over_the_entered_tasks_divided_by_their_count(scores):
    per_task = {t: {team: s[i] for team, s in scores.items()} for i, t in enumerate(TASKS)}
    rows = track_standings(TASKS, per_task, baseline_team_ids=())
    # A task nobody has a score on is not ranked: in no mean, missing for nobody.
    entered = [i for i in range(3) if any(s[i] is not None for s in scores.values())]
    for row in rows:
        values = scores[row.team_id]
        assert row.mean_score == pytest.approx(
            sum(values[i] or 0.0 for i in entered) / len(entered)
        )
        assert row.missing == tuple(TASKS[i] for i in entered if values[i] is None)
    means = [r.mean_score for r in rows]
    assert means == sorted(means, reverse=True)
    assert [r.rank for r in rows] == list(range(1, len(rows) + 1))


def test_relative_to_baseline_delta_ratio_and_missing_cells():
    per_task = {"t1": {"a": 0.9, "b": 0.6}, "t2": {"a": 0.5}, "t3": {"a": 0.4}}
    baseline = {"t1": 0.75, "t2": 0.0}  # no baseline on t3
    matrix = relative_to_baseline(per_task, baseline)
    assert matrix.task_slugs == ("t1", "t2", "t3")
    assert matrix.team_ids == ("a", "b")
    cell = matrix.cell("a", "t1")
    assert cell.delta == pytest.approx(0.15)
    assert cell.ratio == pytest.approx(1.2)
    assert matrix.cell("a", "t2").ratio is None  # baseline scored 0
    assert matrix.cell("a", "t2").delta == pytest.approx(0.5)
    assert matrix.cell("a", "t3") is None
    assert matrix.cell("b", "t2") is None
    assert matrix.cell("nobody", "t1") is None


def test_a_task_no_team_has_entered_is_in_no_mean():
    # t3 was added late: only the baseline has run it; t4 nobody. Means are over t1 and t2.
    per_task = {
        "t1": {"a": 0.9, "b": 0.7, "base": 0.8},
        "t2": {"a": 0.5, "base": 0.6},
        "t3": {"base": 0.4},
        "t4": {},
    }
    assert ranked_tasks(["t1", "t2", "t3", "t4"], per_task, {"base"}) == ["t1", "t2"]
    rows = {
        r.team_id: r
        for r in track_standings(["t1", "t2", "t3", "t4"], per_task, baseline_team_ids={"base"})
    }
    assert rows["a"].mean_score == pytest.approx(0.7)
    assert rows["b"].mean_score == pytest.approx(0.35) and rows["b"].missing == ("t2",)
    assert rows["base"].mean_score == pytest.approx(0.7)  # its t3 score counts nowhere
    assert rows["a"].task_scores["t3"] is None  # still shown, as a column
