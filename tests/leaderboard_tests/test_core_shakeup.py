"""Public-to-private shake-up (no Django)."""

from leaderboard.core.shakeup import shakeup


def test_rows_sorted_by_private_rank_with_delta_positive_when_climbing():
    public = {"a": 1, "b": 2, "c": 3, "base": None}
    private = {"a": 3, "b": 1, "c": 2, "base": None}
    rows = shakeup(public, private)
    assert [(r.team_id, r.public_rank, r.private_rank, r.delta) for r in rows] == [
        ("b", 2, 1, 1),
        ("c", 3, 2, 1),
        ("a", 1, 3, -2),
        ("base", None, None, None),
    ]


def test_teams_on_one_board_only_have_no_delta_and_unranked_come_last():
    rows = shakeup({"a": 1, "gone": 2, "zed": None}, {"a": 1, "new": 2})
    assert [(r.team_id, r.delta) for r in rows] == [
        ("a", 0),
        ("new", None),
        ("gone", None),
        ("zed", None),
    ]
