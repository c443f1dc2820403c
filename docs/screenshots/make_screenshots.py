"""Regenerate the README tour screenshots: ``docs/screenshots/{leaderboard,submission,admin}.png``.

    .venv/bin/python docs/screenshots/make_screenshots.py [--keep] [--baseline-time-limit 1800]

Everything runs against a fresh temporary ``DATA_DIR`` (deleted at the end unless ``--keep``),
never the repository's ``var/``:

1. a private Redis, ``migrate``, ``ensure_accounts`` and ``load_demo --only febrl --only
   bird-strikes`` (two small demo tasks, built from public data shipped with Python
   packages); a baseline worker runs their AutoGluon baselines for real, with a short time
   limit, and a scoring worker scores everything;
2. four teams submit over five rounds through ``submission_create``, like an upload. Their
   files are the truth with some rows changed (no model is trained: the point is the pages,
   not the methods). Each round is scored by the worker, then its times are moved back in
   the past, so the history chart spans two weeks; the bootstrap intervals follow;
3. the site's web server and Debian's Chromium (1280x800) take the task
   leaderboard of bird-strikes (anonymous visitor), alice's latest febrl submission (flips,
   confusion matrix, threshold chart) and the organizer console's first page (dashboard).

Takes a few minutes, mostly the two AutoGluon fits.
"""

from __future__ import annotations

import argparse
import io
from datetime import timedelta

import numpy as np
import pandas as pd
from screenshot_site import (  # this folder's set-up, shared by its scripts
    VIEWPORT,
    baselines_done,
    chromium,
    login,
    nothing_pending,
    screenshot_site,
    scroll_to,
    shoot,
    wait_until,
)

DEMO_TASKS = ("febrl", "bird-strikes")
MATCHING, CLASSIFICATION = DEMO_TASKS
# Team -> (user, password). alice and bob come from ensure_accounts.
TEAMS = {
    "Owls": ("alice", "alice-demo-pass"),
    "Hawks": ("bob", "bob-demo-pass"),
    "Kestrels": ("carol", "carol-demo-pass"),
    "Herons": ("dave", "dave-demo-pass"),
}
# (days ago, {team: quality}); quality in [0, 1]: higher means fewer changed rows.
ROUNDS = [
    (12, {"Owls": 0.55, "Hawks": 0.65}),
    (9, {"Owls": 0.70, "Kestrels": 0.60, "Herons": 0.40}),
    (6, {"Hawks": 0.80, "Kestrels": 0.72, "Owls": 0.68}),
    (3, {"Owls": 0.86, "Herons": 0.62, "Hawks": 0.78}),
    (1, {"Owls": 0.93, "Kestrels": 0.84}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR")
    parser.add_argument(
        "--baseline-time-limit",
        type=int,
        default=1800,
        help="the baseline's safety limit, seconds (its work is fixed)",
    )
    args = parser.parse_args()
    with screenshot_site(keep=args.keep, BASELINE_TIME_LIMIT=str(args.baseline_time_limit)) as site:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("ensure_accounts")
        site.workers("baselines", "worker")
        site.beat()  # the console's dashboard shows the workers' heartbeat
        call_command("load_demo", only=list(DEMO_TASKS))
        wait_until(baselines_done, what="the AutoGluon baselines", timeout=1800)
        wait_until(nothing_pending, what="scoring the baselines", timeout=300)
        submission_pk = build_state()
        take_screenshots(site.web(), submission_pk=submission_pk)


# --- the state ------------------------------------------------------------------------------


def truth_of(task) -> pd.DataFrame:
    with task.solution.open("rb") as handle:
        return pd.read_parquet(io.BytesIO(handle.read()))


def predictions(task, truth: pd.DataFrame, quality: float, rng: np.random.Generator) -> bytes:
    """The truth with some rows changed; matching files also carry a ``score``."""
    if task.kind == "matching":
        y = truth["label"].astype(int).to_numpy()
        a = 1.2 + 4 * quality  # a larger a separates the two classes' scores more
        score = np.where(y == 1, rng.beta(a, 1.5, y.size), rng.beta(1.2, a * 2.5, y.size))
        frame = pd.DataFrame(
            {"id": truth["id"], "label": (score >= 0.5).astype(int), "score": score.round(4)}
        )
    else:
        classes = list(task.classes)
        labels = truth["label"].astype(str).to_numpy().copy()
        common = pd.Series(labels).value_counts().index.tolist()
        wrong = rng.random(labels.size) < 0.3 + 0.4 * (1 - quality)
        # Mistakes lean towards the frequent classes, as a real model's do.
        weights = np.array([1.0 / (1 + common.index(c)) for c in classes])
        labels[wrong] = rng.choice(classes, size=int(wrong.sum()), p=weights / weights.sum())
        frame = pd.DataFrame({"id": truth["id"], "label": labels})
    return frame.to_csv(index=False).encode()


def build_state() -> int:
    """Teams, five rounds of scored submissions spread over two weeks, intervals; returns
    the submission to photograph (alice's latest matching one)."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from challenge_platform.models import Challenge
    from challenge_platform.services import team_create
    from datasets.models import Task
    from leaderboard.models import LeaderboardEntry
    from leaderboard.services import task_leaderboard_refresh
    from scoring.models import Submission
    from scoring.services import submission_create, submission_final_set

    rng = np.random.default_rng(7)
    now = timezone.now()
    challenge = Challenge.objects.get(slug="demo")
    Challenge.objects.filter(pk=challenge.pk).update(start=now - timedelta(days=14))
    challenge.refresh_from_db()
    User = get_user_model()
    users = {}
    for team_name, (username, password) in TEAMS.items():
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.save()
        users[team_name] = user
        team_create(challenge=challenge, user=user, name=team_name)
    tasks = [Task.objects.select_related("track__challenge").get(slug=s) for s in DEMO_TASKS]
    truths = {task.slug: truth_of(task) for task in tasks}

    # The baselines ran first.
    for submission in Submission.objects.filter(team__is_baseline=True):
        backdate(submission, now - timedelta(days=13, hours=2))
    for days, plan in ROUNDS:
        made = []
        for team_name, quality in plan.items():
            for task in tasks:
                jitter = rng.uniform(-0.15, 0.15)
                content = predictions(task, truths[task.slug], quality + jitter, rng)
                made.append(
                    submission_create(
                        task=task,
                        user=users[team_name],
                        file=SimpleUploadedFile("predictions.csv", content),
                        note=f"round {ROUNDS.index((days, plan)) + 1}",
                    )
                )
        wait_until(nothing_pending, what=f"scoring the round {days} days ago", timeout=300)
        for submission in made:
            hours = float(rng.uniform(0, 20))
            backdate(submission, now - timedelta(days=days) + timedelta(hours=hours))

    latest = (
        Submission.objects.filter(task__slug=MATCHING, team__name="Owls")
        .order_by("-created_at")
        .first()
    )
    submission_final_set(submission=latest, user=users["Owls"], final=True)
    for task in tasks:
        task_leaderboard_refresh(task_id=task.pk)
    wait_until(
        lambda: not LeaderboardEntry.objects.filter(score_low__isnull=True).exists(),
        what="the bootstrap intervals",
        timeout=300,
    )
    return latest.pk


def backdate(submission, at) -> None:
    from scoring.models import Submission

    took = timedelta(seconds=submission.scoring_seconds or 1)
    Submission.objects.filter(pk=submission.pk).update(
        created_at=at, started_at=at, finished_at=at + took, status_changed_at=at + took
    )


# --- screenshots ----------------------------------------------------------------------------


def take_screenshots(base: str, *, submission_pk: int) -> None:
    with chromium() as browser:
        visitor = browser.new_page(viewport=VIEWPORT)
        visitor.goto(f"{base}/tasks/{CLASSIFICATION}/leaderboard/")
        visitor.locator(".chart svg").first.wait_for()  # the trade-off plot and the history
        scroll_to(visitor, "h1", margin=20)
        shoot(visitor, "leaderboard.png")

        alice = browser.new_page(viewport=VIEWPORT)
        login(alice, base, *TEAMS["Owls"])
        alice.goto(f"{base}/submissions/{submission_pk}/")
        alice.locator("#flips").wait_for()
        scroll_to(alice, "#flips", margin=0)  # the flips, then the plots
        shoot(alice, "submission.png")

        organizer = browser.new_page(viewport=VIEWPORT)
        login(organizer, base, "organizer", "organizer-demo-pass", path="/admin/login/")
        organizer.goto(f"{base}/admin/")
        organizer.locator("#console-dashboard").wait_for()
        shoot(organizer, "admin.png")


if __name__ == "__main__":
    main()
