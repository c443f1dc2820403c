"""``chal`` on a ladder board (docs/organizers/ladder.md): ``chal submissions`` prints each entry's
shown score and whether it climbed, ``chal board`` / ``chal leaderboard`` the board's mode and its
shown scores; neither prints an exact public score the board hides."""

from __future__ import annotations

import pandas as pd

from common.board_modes import shown_decimals
from datasets.models import Task
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission
from scoring.services.upload import submission_create
from scoring.tasks import score_submission
from tests.scoring_tests.factories import csv_bytes, solution_frame, upload


def _entry(world, share_wrong: float) -> Submission:
    task = world.birds
    truth = solution_frame(task)
    classes = list(task.classes)
    labels = [
        classes[(classes.index(y) + 1) % len(classes)] if i < share_wrong * len(truth) else y
        for i, y in enumerate(truth["label"].astype(str))
    ]
    frame = pd.DataFrame({"id": truth["id"], "label": labels})
    sub = submission_create(task=task, user=world.alice, file=upload(csv_bytes(frame)))
    score_submission.run(submission_pk=sub.pk)
    sub.refresh_from_db()
    return sub


def test_chal_prints_shown_scores_and_climbs_never_a_hidden_score(chal, world, login_as):
    Task.objects.filter(pk=world.birds.pk).update(public_board="ladder")
    world.challenge.daily_submission_limit = 10
    world.challenge.save(update_fields=["daily_submission_limit"])
    first = _entry(world, 0.5)  # climbs: the team's first
    worse = _entry(world, 0.6)  # worse: stays
    task_leaderboard_refresh(task_id=world.birds.pk, bootstrap=False)
    first_step, worse_step = first.ladder_step, worse.ladder_step
    assert first_step.climbed and not worse_step.climbed
    exact = {f"{v:.4f}" for s in (first, worse) for v in s.scores["public"].values()}
    exact -= {f"{first_step.shown_score:.4f}"}

    login_as("alice")
    mine = chal("submissions", "--task", world.birds.slug)
    assert mine.code == 0, mine.err
    lines = mine.out.splitlines()
    assert lines[0].split()[:8] == [
        "id", "task", "status", "public", "score", "NFR", "shown", "climbed"
    ]  # fmt: skip
    rows = {line.split()[0]: line for line in lines[2:]}
    # a shown score with the decimals it has (its step's: 0.62, never 0.6200; chal writes
    # two at least)
    shown = f"{first_step.shown_score:.{max(2, shown_decimals(first_step.units))}f}"
    assert len(shown.split(".")[1]) < 4, shown
    assert rows[str(first.pk)].split()[3:4] == [shown] and " yes " in rows[str(first.pk)]
    assert f"no (shown {shown})" in rows[str(worse.pk)]
    assert not any(value in mine.out for value in exact), mine.out

    for command in ("board", "leaderboard"):
        board = chal(command, world.birds.slug, "--server", world.url)
        assert board.code == 0, board.err
        out = board.out.splitlines()
        assert out[0] == "Task cli-birds: public leaderboard (accuracy, a ladder board)"
        assert out[1].split()[:5] == ["rank", "team", "accuracy", "shown", "climbed"]
        assert out[3].split()[:5] == ["1", "Red", shown, shown, "yes"]
        assert not any(value in board.out for value in exact), board.out


def test_submit_wait_says_whether_the_entry_climbed(capsys):
    """What ``chal submit --wait`` prints of a scored entry on a ladder board."""
    from chal_client.submissions import _print_scores

    base = {"status": "scored", "board_mode": "ladder", "metrics": {}}
    _print_scores(
        {**base, "climbed": False, "shown_score": None, "team_shown_score": 0.71,
         "scores": {"public": {}}},
        primary="accuracy",
    )  # fmt: skip
    out = capsys.readouterr().out
    # The entry is scored: it did not climb, said first and alone (issue 64), with the shown
    # score's own decimals.
    assert out.splitlines() == [
        "Not better than the team's shown public score (0.71) by a significant margin: "
        "it stays.",
    ]
    _print_scores(
        {**base, "climbed": True, "shown_score": 0.74, "team_shown_score": 0.74,
         "scores": {"public": {"accuracy": 0.74}}},
        primary="accuracy",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Public accuracy: 0.7400 (the primary metric)"
    assert out.splitlines()[-1] == "Climbed: the team's shown public score is 0.74."
    _print_scores(
        {**base, "climbed": False, "shown_score": None, "team_shown_score": None,
         "status": "scoring", "scores": {}},
        primary="accuracy",
    )  # fmt: skip
    assert capsys.readouterr().out.splitlines() == ["No scores are visible yet."]
