"""Regenerate ``docs/screenshots/transfer.png``, ``decomposition.png``, ``p-first.png`` and
``comparisons.png``: the transfer matrix of the demo's classification track, with algorithms
run by the platform in its sandbox, its decomposition (what is the method and what is the
data), the track's standings with P(first), and which of its teams can be told apart (the
critical-difference diagram and the pairwise verdicts).

    .venv/bin/python docs/screenshots/make_transfer_screenshot.py [--keep]

Against a fresh temporary ``DATA_DIR`` (``screenshot_site.py``, this folder's shared set-up):
``load_demo`` builds three small classification tasks and runs their AutoGluon baselines for
real (short time limit); three teams upload algorithms (real TF-IDF + logistic regression
and naive Bayes methods, and a majority-class one) and run them on the track
through the algorithms worker and the bubblewrap sandbox; an organizer runs one of them on a
task its team did not run (an organizer run: in the matrix, not on the board); the Owls
contributed the first task's data (its owner team: their home advantage). Then Chromium
takes the matrix, its decomposition section, the track's standings and its comparisons as
the organizer sees them.
"""

from __future__ import annotations

import argparse

from screenshot_site import (  # this folder's set-up, shared by its scripts
    VIEWPORT,
    archive,
    baselines_done,
    chromium,
    login,
    nothing_pending,
    runs_done,
    screenshot_site,
    shoot,
    shoot_element,
    wait_until,
)

TASKS = ("bird-strikes", "tweet-source", "digits-images")
TEXT_METHOD = """
import json, os
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
train = pd.read_parquet(task / "train.parquet")
test = pd.read_parquet(task / "test.parquet")
features = [c for c in test.columns if c != "id"]

def text(frame):
    return frame[features].astype(str).apply(" ".join, axis=1)

vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
model = LogisticRegression(max_iter=2000, C=4.0)
model.fit(vectorizer.fit_transform(text(train)), train["label"])
label = model.predict(vectorizer.transform(text(test)))
pd.DataFrame({"id": test["id"], "label": label}).to_csv(out / "predictions.csv", index=False)
print("rows", len(test))
"""
MAJORITY = """
import os
from pathlib import Path

import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
train = pd.read_parquet(task / "train.parquet")
test = pd.read_parquet(task / "test.parquet")
label = train["label"].mode()[0]
pd.DataFrame({"id": test["id"], "label": label}).to_csv(out / "predictions.csv", index=False)
"""
BAYES_METHOD = TEXT_METHOD.replace(
    "from sklearn.linear_model import LogisticRegression",
    "from sklearn.naive_bayes import ComplementNB",
).replace("LogisticRegression(max_iter=2000, C=4.0)", "ComplementNB(alpha=0.3)")
ALGORITHMS = {
    "Owls": ("alice", "alice-demo-pass", "TF-IDF + logistic regression", TEXT_METHOD),
    "Hawks": ("bob", "bob-demo-pass", "Majority class", MAJORITY),
    "Crows": ("carol", "carol-demo-pass", "TF-IDF + naive Bayes", BAYES_METHOD),
}


def build_state() -> str:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from algorithms.services.runs import algorithm_runs_queue
    from algorithms.services.upload import algorithm_version_create
    from challenges.models import Challenge
    from challenges.rules import rules_accept, rules_required
    from challenges.services import team_create
    from datasets.models import Task

    challenge = Challenge.objects.get(slug="demo")
    tasks = [Task.objects.select_related("track").get(slug=slug) for slug in TASKS]
    challenge.confidence_level = 0.95
    challenge.save(update_fields=["confidence_level"])
    track = tasks[0].track
    user_model = get_user_model()
    algorithms = {}
    for team_name, (username, password, name, main) in ALGORITHMS.items():
        user = user_model.objects.filter(username=username).first()
        if user is None:  # a third participant, beyond the demo's accounts
            user = user_model.objects.create_user(username, password=password)
            if rules_required(challenge=challenge):
                rules_accept(challenge=challenge, user=user, version=challenge.rules_version)
        team_create(challenge=challenge, user=user, name=team_name)
        version = algorithm_version_create(
            challenge=challenge,
            user=user,
            file=SimpleUploadedFile("algorithm.zip", archive(name, main)),
        )
        algorithms[team_name] = (user, version.algorithm)
    alice, owls = algorithms["Owls"]
    tasks[0].owner_team = owls.team  # the Owls contributed this task's data
    tasks[0].save(update_fields=["owner_team"])
    algorithm_runs_queue(algorithm=owls, user=alice, track_slug=track.slug)
    bob, hawks = algorithms["Hawks"]
    algorithm_runs_queue(algorithm=hawks, user=bob, task_slugs=list(TASKS[:2]))
    organizer = user_model.objects.get(username="organizer")
    algorithm_runs_queue(algorithm=hawks, user=organizer, task_slugs=[TASKS[2]])
    carol, crows = algorithms["Crows"]
    algorithm_runs_queue(algorithm=crows, user=carol, track_slug=track.slug)
    return track.slug


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR")
    args = parser.parse_args()
    # BASELINE_TIME_LIMIT: a safety limit, the baseline's work is fixed.
    with screenshot_site(keep=args.keep, BASELINE_TIME_LIMIT="1800") as site:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("ensure_accounts")
        site.workers("baselines", "worker", "algorithms")
        call_command("load_demo", only=list(TASKS))
        track_slug = build_state()
        wait_until(baselines_done, what="the AutoGluon baselines", timeout=1800)
        wait_until(runs_done, what="the algorithm runs", timeout=1800)
        wait_until(nothing_pending, what="scoring", timeout=600)
        base = site.web()
        with chromium() as browser:
            page = browser.new_page(viewport={**VIEWPORT, "height": 520})
            login(page, base, "organizer", "organizer-demo-pass", path="/admin/login/")
            page.goto(f"{base}/tracks/{track_slug}/transfer/")
            page.locator("#transfer-matrix").wait_for()
            shoot(page, "transfer.png")
            section = page.locator("#decomposition")
            section.scroll_into_view_if_needed()
            shoot_element(section, "decomposition.png")
            page.goto(f"{base}/tracks/{track_slug}/")
            page.locator("table.leaderboard").first.wait_for()
            shoot_element(page.locator("table.leaderboard").first, "p-first.png")
            shoot_element(page.locator("#comparisons"), "comparisons.png")


if __name__ == "__main__":
    main()
