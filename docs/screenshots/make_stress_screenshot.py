"""Regenerate ``docs/screenshots/robustness.png`` and ``robustness-run.png``: a matching task's
board with its robustness and transitivity columns, and a run's table per stress family
(docs/organizers/stress.md).

    .venv/bin/python docs/screenshots/make_stress_screenshot.py [--keep]

Against a fresh temporary ``DATA_DIR`` (``screenshot_site.py``): a product
matching task whose titles carry accents is imported with two stress families (typos and
transliteration); the Owls upload a method that compares folded titles fuzzily, the Hawks
one that keys on exact strings, and the Larks upload a prediction file. The algorithms
worker runs both methods in the bubblewrap sandbox and the baselines worker the task's
AutoGluon baseline (queued by the import, as for every task that arrives; short time limit),
then their stress runs (what the beat's stress tick queues), and Chromium takes the board and
the Hawks' run as an organizer sees them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from screenshot_site import (  # this folder's set-up, shared by its scripts
    VIEWPORT,
    archive,
    chromium,
    login,
    nothing_pending,
    runs_done,
    screenshot_site,
    shoot_element,
    wait_until,
)

PRODUCTS = [
    ("Müller Kaffeemaschine Größe drei", "Müller"),
    ("Café Crème Brûlée Dessert Set", "Bonne Maman"),
    ("Škoda Octavia Zubehör Dachträger", "Škoda"),
    ("Zürich Uhrenmanufaktur Armbanduhr Édition", "Zürich Time"),
    ("Ñandú Plüschtier für Kinder", "Juguetes Niño"),
    ("Søren Kierkegaard Gesammelte Werke", "Forlaget Ø"),
    ("Łódź Porzellan Kaffeeservice Klassisch", "Ćmielów"),
    ("Göteborg Fahrradhelm Schwarz Matt", "Cykelfabrik Å"),
]
FUZZY = """
import os, unicodedata
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
test = pd.read_parquet(task / "test.parquet")

def fold(value):
    text = unicodedata.normalize("NFKD", "" if value is None else str(value))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()

label = [int(fuzz.token_set_ratio(fold(a), fold(b)) >= 70)
         for a, b in zip(test["left_title"], test["right_title"])]
pd.DataFrame({"id": test["id"], "label": label}).to_csv(out / "predictions.csv", index=False)
"""
EXACT = """
import os
from pathlib import Path

import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
test = pd.read_parquet(task / "test.parquet")
same = (test["left_title"] == test["right_title"]) & (test["left_brand"] == test["right_brand"])
frame = pd.DataFrame({"id": test["id"], "label": same.astype(int)})
frame.to_csv(out / "predictions.csv", index=False)
"""
TEAMS = {"Owls": ("owl", "Fuzzy folded titles", FUZZY), "Hawks": ("hawk", "Exact strings", EXACT)}


def write_bundle(folder: Path) -> Path:
    rng = np.random.default_rng(5)
    folder.mkdir(parents=True)

    def pairs(n: int, prefix: str) -> pd.DataFrame:
        left = rng.integers(0, len(PRODUCTS), n)
        match = rng.random(n) < 0.4
        right = np.where(match, left, (left + rng.integers(1, len(PRODUCTS), n)) % len(PRODUCTS))
        # Half the matches name the product as another catalog does (a year added).
        variant = match & (rng.random(n) < 0.5)
        return pd.DataFrame(
            {
                "id": [f"{prefix}{i:05d}" for i in range(n)],
                "left_title": [PRODUCTS[i][0] for i in left],
                "left_brand": [PRODUCTS[i][1] for i in left],
                "right_title": [
                    PRODUCTS[i][0] + (" (2024)" if v else "")
                    for i, v in zip(right, variant, strict=True)
                ],
                "right_brand": [PRODUCTS[i][1] for i in right],
                "label": match.astype(int),
            }
        )

    spec = {
        "slug": "catalog-products",
        "title": "Products across catalogs",
        "kind": "matching",
        "columns": {"left_brand": "categorical", "right_brand": "categorical"},
        "stress": [{"family": "typos", "share": 0.5}, {"family": "transliteration", "share": 0.5}],
    }
    (folder / "task.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    pairs(400, "k").to_parquet(folder / "train.parquet", index=False)
    test = pairs(400, "p")
    test.drop(columns="label").to_parquet(folder / "test.parquet", index=False)
    test[["id", "label"]].to_parquet(folder / "solution.parquet", index=False)
    return folder


def intervals_done() -> bool:
    """Every board entry of a team (the baseline's included; a reference has none) has its
    bootstrap interval (a job after each score)."""
    from leaderboard.models import LeaderboardEntry

    entries = LeaderboardEntry.objects.filter(team__isnull=False)
    return entries.exists() and not entries.filter(score_low__isnull=True).exists()


def build_state(data_dir: Path) -> tuple[str, int, int]:
    """The task, two teams' algorithms queued on it and a third team's file: the task's
    slug, the Hawks' algorithm id and the organizer's user id."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from algorithms.services.runs import algorithm_runs_queue
    from algorithms.services.upload import algorithm_version_create
    from challenges.models import Challenge
    from challenges.services import team_create
    from datasets.services import task_import
    from scoring.services.upload import submission_create

    task = task_import(
        source=write_bundle(data_dir / "bundle"),
        challenge_slug="stress-demo",
        track_slug="matching",
    )
    Challenge.objects.filter(pk=task.track.challenge_id).update(
        start=timezone.now() - timezone.timedelta(days=1), daily_submission_limit=10
    )
    challenge = Challenge.objects.get(pk=task.track.challenge_id)
    users = get_user_model().objects
    hawks = None
    for team_name, (username, name, main) in TEAMS.items():
        user = users.create_user(username=username, password=f"{username}-pass")
        team_create(challenge=challenge, user=user, name=team_name)
        version = algorithm_version_create(
            challenge=challenge, user=user, file=SimpleUploadedFile("a.zip", archive(name, main))
        )
        algorithm_runs_queue(algorithm=version.algorithm, user=user, task_slugs=[task.slug])
        hawks = version.algorithm.pk if team_name == "Hawks" else hawks
    lark = users.create_user(username="lark", password="lark-pass")
    team_create(challenge=challenge, user=lark, name="Larks")
    test = pd.read_parquet(task.test_parquet.path)
    body = test.assign(label=(test["left_title"] == test["right_title"]).astype(int))
    submission_create(
        task=task,
        user=lark,
        file=SimpleUploadedFile("larks.csv", body[["id", "label"]].to_csv(index=False).encode()),
        note="exact titles, as a file",
    )
    organizer = users.create_superuser(username="organizer", password="organizer-pass")
    return task.slug, hawks, organizer.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR")
    args = parser.parse_args()
    # BASELINE_TIME_LIMIT: a safety limit, the baseline's work is fixed.
    with screenshot_site(keep=args.keep, BASELINE_TIME_LIMIT="1800") as site:
        from django.core.management import call_command

        from algorithms.services.stress_queue import stress_queue

        call_command("migrate", verbosity=0)
        site.workers("worker", "algorithms", "baselines")
        slug, hawks, _ = build_state(site.data_dir)
        wait_until(runs_done, what="the algorithm runs", timeout=1800)
        wait_until(nothing_pending, what="scoring", timeout=600)
        print(f"{len(stress_queue())} stress runs queued")
        wait_until(runs_done, what="the stress runs", timeout=1800)
        wait_until(intervals_done, what="the boards' intervals", timeout=600)
        base = site.web()
        with chromium() as browser:
            page = browser.new_page(viewport={**VIEWPORT, "height": 520})
            login(page, base, "organizer", "organizer-pass", path="/admin/login/")
            page.goto(f"{base}/tasks/{slug}/leaderboard/")
            board = page.locator("table.leaderboard").first
            board.wait_for()
            shoot_element(board, "robustness.png")
            page.goto(f"{base}/algorithms/{hawks}/")
            table = page.locator("details.robustness").first
            table.locator("summary").click()
            shoot_element(table, "robustness-run.png")


if __name__ == "__main__":
    main()
