"""Leaderboard page time at 100 teams x 10,000 submissions, against references in the same run.

Pages read `LeaderboardEntry` rows maintained when a submission is scored, so their cost should
not grow with the number of submissions. This prints p50/p95 wall time per page (Django test
client, SQLite in a temporary DATA_DIR) for:

- small: the same pages with 100 teams x 100 submissions (the constant-time reference)
- large: 100 teams x 10,000 submissions
- naive: what a page would cost if it ranked from the submissions table on each view
  (select every scored submission and rank them with the same core) -- what we avoid

Run: .venv/bin/python bench/bench_pages.py [--submissions 10000] [--teams 100] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from datetime import timedelta

os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-pages-")
os.environ["DJANGO_SETTINGS_MODULE"] = "challenge_platform.settings.test"
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from challenges.models import Challenge, Team, Track  # noqa: E402
from datasets.models import Task  # noqa: E402
from leaderboard.core.ranking import SubmissionInput, rank_entries, select_team_best  # noqa: E402
from leaderboard.refresh import task_leaderboard_refresh  # noqa: E402
from scoring.models import Submission  # noqa: E402


def build(*, teams: int, submissions: int, slug: str) -> Task:
    now = timezone.now()
    challenge = Challenge.objects.create(
        slug=slug, title=slug, start=now - timedelta(days=1), end=now + timedelta(days=30)
    )
    track = Track.objects.create(challenge=challenge, slug=f"{slug}-track", title="Track")
    task = Task.objects.create(
        track=track,
        slug=f"{slug}-task",
        title="Task",
        kind="classification",
        primary_metric="accuracy",
        classes=["a", "b"],
        train_csv="x",
        train_parquet="x",
        test_csv="x",
        test_parquet="x",
        solution="x",
    )
    team_objs = Team.objects.bulk_create(
        [Team(challenge=challenge, name=f"team {i}", is_baseline=(i == 0)) for i in range(teams)]
    )
    rows = [
        Submission(
            task=task,
            team=team_objs[i % teams],
            file="x",
            status="scored",
            public_score=((i * 7919) % 1000) / 1000,
            private_score=((i * 104729) % 1000) / 1000,
            scores={"public": {"accuracy": ((i * 7919) % 1000) / 1000}},
        )
        for i in range(submissions)
    ]
    Submission.objects.bulk_create(rows, batch_size=2000)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return task


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def time_get(client: Client, url: str, n: int) -> list[float]:
    client.get(url)  # warm-up
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return out


def naive_board(task: Task, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        inputs = [
            SubmissionInput(
                id=pk,
                team_id=team_id,
                is_baseline=False,
                submitted_at=at,
                public_score=pub,
                private_score=priv,
            )
            for pk, team_id, at, pub, priv in Submission.objects.filter(
                task=task, status="scored"
            ).values_list("pk", "team_id", "created_at", "public_score", "private_score")
        ]
        rank_entries(select_team_best(inputs, split="public"))
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    small = build(teams=args.teams, submissions=args.teams, slug="small")
    large = build(teams=args.teams, submissions=args.submissions, slug="large")
    client = Client()
    print(
        f"{args.teams} teams; small: {args.teams} submissions; large: {args.submissions}; "
        f"{args.requests} requests per page; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'page':<34}{'small p50':>11}{'large p50':>11}{'large p95':>11}{'large/small':>13}")
    pages = {
        "task leaderboard (HTML)": "/tasks/{t}/leaderboard/",
        "task leaderboard (API)": "/api/v1/tasks/{t}/leaderboard/",
        "track leaderboard (HTML)": "/tracks/{k}/",
        "track leaderboard (API)": "/api/v1/tracks/{k}/leaderboard/",
        "task page": "/tasks/{t}/",
    }
    for name, pattern in pages.items():
        s50, _ = percentiles(
            time_get(client, pattern.format(t=small.slug, k=small.track.slug), args.requests)
        )
        l50, l95 = percentiles(
            time_get(client, pattern.format(t=large.slug, k=large.track.slug), args.requests)
        )
        print(
            f"{name:<34}{s50 * 1000:>9.1f}ms{l50 * 1000:>9.1f}ms"
            f"{l95 * 1000:>9.1f}ms{l50 / s50:>12.2f}x"
        )
    n50, n95 = percentiles(naive_board(large, max(10, args.requests // 10)))
    l50, _ = percentiles(
        time_get(client, f"/api/v1/tasks/{large.slug}/leaderboard/", args.requests)
    )
    print(
        f"\nnaive per-view ranking of {args.submissions} submissions: p50 {n50 * 1000:.1f} ms, "
        f"p95 {n95 * 1000:.1f} ms -> the maintained board's API is {n50 / l50:.1f}x faster"
    )


if __name__ == "__main__":
    main()
