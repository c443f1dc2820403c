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
3. ``runserver`` and Debian's Chromium (``/usr/bin/chromium``, 1280x800) take the task
   leaderboard of bird-strikes (anonymous visitor), alice's latest febrl submission (flips,
   confusion matrix, threshold chart) and the organizer console's first page (dashboard).

Takes a few minutes, mostly the two AutoGluon fits.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
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
        site.workers("baselines", "scoring")
        call_command("load_demo", only=list(DEMO_TASKS))
        wait_until(baselines_done, what="the AutoGluon baselines", timeout=1800)
        wait_until(nothing_pending, what="scoring the baselines", timeout=300)
        submission_pk = build_state()
        take_screenshots(site.web(), submission_pk=submission_pk)


# --- the site every screenshot script runs ----------------------------------------------------


@dataclass
class ScreenshotSite:
    """A platform of the script's own: its ``DATA_DIR`` and the processes started in it."""

    data_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def workers(self, *queues: str) -> None:
        """A Celery worker for each queue, logging to ``DATA_DIR/worker-<queue>.log``."""
        self.processes.extend(worker(self.data_dir, queue) for queue in queues)

    def web(self) -> str:
        """``runserver`` on a free loopback port (it serves the static files: DEBUG); its
        base URL once it answers."""
        from challenge_platform.localredis import free_port

        port = free_port()
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=REPO,
                stdout=open(self.data_dir / "web.log", "ab"),  # noqa: SIM115 - the child owns it
                stderr=subprocess.STDOUT,
            )
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(base + "/"), what="the web server", timeout=60)
        return base


@contextmanager
def screenshot_site(*, keep: bool, **environment: str) -> Iterator[ScreenshotSite]:
    """A fresh temporary ``DATA_DIR`` (SQLite under it, never the repository's ``var/``) with
    a private Redis and Django set up, ``environment`` added to the process's; at the end
    every process started is stopped, Redis too, and the folder removed unless ``keep``."""
    data_dir = Path(tempfile.mkdtemp(prefix="screenshots-"))
    print(f"DATA_DIR={data_dir}")
    from challenge_platform.localredis import start_local_redis

    redis = start_local_redis(data_dir / "redis")
    os.environ.pop("DATABASE_URL", None)  # SQLite under DATA_DIR
    os.environ.update(
        DJANGO_SETTINGS_MODULE="challenge_platform.settings.local",
        DATA_DIR=str(data_dir),
        REDIS_URL=redis.url,
        DEBUG="1",  # runserver serves the static files
        PYTHONUNBUFFERED="1",
        **environment,
    )
    site = ScreenshotSite(data_dir=data_dir)
    try:
        import django

        django.setup()
        yield site
    finally:
        for process in reversed(site.processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.stop()
        if keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


# --- processes ----------------------------------------------------------------------------


def worker(data_dir: Path, queue: str) -> subprocess.Popen:
    from challenge_platform.worker_command import celery_worker_command

    return subprocess.Popen(
        celery_worker_command(queue, concurrency=1, hostname=f"{queue}@screenshots"),
        cwd=REPO,
        stdout=open(data_dir / f"worker-{queue}.log", "ab"),
        stderr=subprocess.STDOUT,
    )


def wait_until(predicate: Callable[[], bool], *, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    print(f"waiting for {what} ...", flush=True)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our local server
            return response.status == 200
    except OSError:
        return False


def baselines_done() -> bool:
    from algorithms.models import ACTIVE, BaselineRun

    return not BaselineRun.objects.filter(status__in=ACTIVE).exists()


def nothing_pending() -> bool:
    from scoring.models import Submission, SubmissionStatus

    pending = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)
    return not Submission.objects.filter(status__in=pending).exists()


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
        login(alice, base, "/accounts/login/", *TEAMS["Owls"])
        alice.goto(f"{base}/submissions/{submission_pk}/")
        alice.locator("#flips").wait_for()
        scroll_to(alice, "#flips", margin=0)  # the flips, then the plots
        shoot(alice, "submission.png")

        organizer = browser.new_page(viewport=VIEWPORT)
        login(organizer, base, "/admin/login/", "organizer", "organizer-demo-pass")
        organizer.goto(f"{base}/admin/")
        organizer.locator("#console-dashboard").wait_for()
        shoot(organizer, "admin.png")


def login(page, base: str, path: str, username: str, password: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form [type=submit]")
    page.wait_for_load_state()


def scroll_to(page, selector: str, *, margin: int) -> None:
    """Scroll so that ``selector`` starts ``margin`` pixels below the top of the window."""
    top = page.locator(selector).first.bounding_box()["y"]
    page.evaluate("y => window.scrollTo(0, y)", max(top - margin, 0))


def shoot(page, name: str) -> None:
    path = OUT / name
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size / 1024:.0f} KB)")


def shoot_element(locator, name: str) -> None:
    """One element of the page, whole (it may be taller than the viewport)."""
    path = OUT / name
    locator.screenshot(path=str(path))
    print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size / 1024:.0f} KB)")


def archive(name: str, main: str) -> bytes:
    """An algorithm archive: ``algorithm.yaml`` naming it and its ``main.py``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("algorithm.yaml", f"name: {name}\ndescription: |\n  {name}.\n")
        zf.writestr("main.py", textwrap.dedent(main))
    return buffer.getvalue()


def runs_done() -> bool:
    from algorithms.models import ACTIVE, AlgorithmRun

    return not AlgorithmRun.objects.filter(status__in=ACTIVE).exists()


if __name__ == "__main__":
    main()
