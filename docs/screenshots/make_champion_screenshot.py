"""Regenerate ``docs/screenshots/champion.png``: a task's champion, its timeline and the
"would this be a champion?" verdicts (the regression gate, docs/organizers/champion-gate.md).

    .venv/bin/python docs/screenshots/make_champion_screenshot.py [--keep]

Against a fresh temporary ``DATA_DIR`` (``screenshot_site.py``, this folder's shared set-up),
with a scoring worker: a product-categorization task of 8,000 test rows with a ``region``
slice column is imported from a bundle written here; the data owners' production
model is uploaded as its primary reference (the first champion); four teams then submit, a
few days apart: one better with few flips (crowned), one better on average that breaks many
rows the champion had right, one that breaks one region, and one better again (crowned).
No model is trained: each file is the truth with chosen rows changed (the point is the
page). Chromium takes the task page's champion section as a visitor sees it.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from screenshot_site import (  # this folder's set-up, shared by its scripts
    chromium,
    nothing_pending,
    screenshot_site,
    shoot_element,
    wait_until,
)

SLUG = "product-categories"
CLASSES = ("apparel", "electronics", "garden", "home", "toys")
REGIONS = ("north", "south", "east", "west", "islands")
TEST_ROWS = 8000
# (days ago, team, user, how): how the file is made from the champion of that moment.
ROUNDS = [
    (9, "Owls", "alice", "better"),
    (7, "Hawks", "bob", "many_flips"),
    (5, "Kestrels", "carol", "breaks_islands"),
    (2, "Owls", "alice", "better_again"),
]


def write_bundle(folder: Path, rng: np.random.Generator) -> None:
    """A classification bundle: title, price, brand and region; ``region`` is the slice."""
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(
        yaml.safe_dump(
            {
                "slug": SLUG,
                "title": "Product categories",
                "kind": "classification",
                "description": "Put each product of the catalogue in its category. "
                "The data owners ship the champion to production; a new model must not "
                "break the products the current one gets right, in any region.",
                "columns": {"region": "categorical", "brand": "categorical"},
                "slices": ["region"],
                "public_fraction": 0.5,
            },
            sort_keys=False,
        )
    )

    def frame(n: int, prefix: str) -> pd.DataFrame:
        label = rng.choice(CLASSES, size=n)
        region = rng.choice(REGIONS, size=n, p=[0.3, 0.3, 0.2, 0.15, 0.05])
        return pd.DataFrame(
            {
                "id": [f"{prefix}{i:05d}" for i in range(n)],
                "title": [f"{c} item {i}" for i, c in enumerate(label)],
                "price": np.round(rng.gamma(2.0, 20.0, n), 2),
                "brand": rng.choice(["acme", "globex", "initech", "umbrella"], size=n),
                "region": region,
                "label": label,
            }
        )

    frame(4000, "p").to_csv(folder / "train.csv", index=False)
    test = frame(TEST_ROWS, "q")
    test.drop(columns="label").to_csv(folder / "test.csv", index=False)
    test[["id", "label"]].to_csv(folder / "solution.csv", index=False)


def build_state(folder: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from challenges.services import team_create
    from datasets.services import task_import
    from leaderboard.models import ChampionChange, ChampionCheck, ChampionCheckStatus
    from scoring.models import Submission
    from scoring.services.references import reference_upload
    from scoring.services.upload import submission_create

    rng = np.random.default_rng(2026)
    write_bundle(folder / "bundle", rng)
    task = task_import(source=folder / "bundle", challenge_slug="demo", track_slug="catalogue")
    with task.solution.open("rb") as handle:
        truth = pd.read_parquet(handle)
    test = pd.read_csv(folder / "bundle" / "test.csv")
    region = test.set_index("id").loc[truth["id"], "region"].to_numpy()
    classes = list(task.classes)
    y = truth["label"].astype(str).map(classes.index).to_numpy()
    n = len(y)

    def wrong(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = codes.copy()
        out[rows] = (out[rows] + 1) % len(classes)
        return out

    def csv(codes: np.ndarray) -> bytes:
        return (
            pd.DataFrame({"id": truth["id"], "label": [classes[c] for c in codes]})
            .to_csv(index=False)
            .encode()
        )

    production = wrong(y, rng.random(n) < 0.18)
    reference_upload(
        task=task,
        name="Production model (June)",
        file=SimpleUploadedFile("production.csv", csv(production)),
        make_primary=True,
    )
    champion = production
    users = get_user_model().objects
    made = {}
    for days, team, username, how in ROUNDS:
        user, _ = users.get_or_create(username=username)  # alice and bob: ensure_accounts
        if team not in made:
            made[team] = team_create(challenge=task.track.challenge, user=user, name=team)
        right = champion == y
        fix = ~right & (rng.random(n) < 0.55)
        codes = champion.copy()
        codes[fix] = y[fix]
        if how == "many_flips":
            codes = wrong(codes, right & (rng.random(n) < 0.07))
        elif how == "breaks_islands":
            codes = wrong(codes, right & (region == "islands") & (rng.random(n) < 0.3))
        else:
            codes = wrong(codes, right & (rng.random(n) < 0.002))
        submission = submission_create(
            task=task, user=user, file=SimpleUploadedFile(f"{how}.csv", csv(codes))
        )
        wait_until(nothing_pending, what=f"{team}'s submission", timeout=600)

        def weighed(pk: int = submission.pk) -> bool:
            return ChampionCheck.objects.filter(
                submission_id=pk, decides=True, status=ChampionCheckStatus.DONE
            ).exists()

        wait_until(weighed, what=f"{team}'s champion check", timeout=600)
        at = timezone.now() - timedelta(days=days)
        Submission.objects.filter(pk=submission.pk).update(created_at=at)
        ChampionChange.objects.filter(submission_id=submission.pk).update(at=at)
        if ChampionChange.objects.filter(submission_id=submission.pk).exists():
            champion = codes
    ChampionChange.objects.filter(by="initial").update(at=timezone.now() - timedelta(days=14))
    from leaderboard.champion.services import champion_tick

    champion_tick()

    def verdicts_done() -> bool:
        return not ChampionCheck.objects.exclude(
            status__in=[ChampionCheckStatus.DONE, ChampionCheckStatus.FAILED]
        ).exists()

    wait_until(verdicts_done, what="the verdicts of the board's entries", timeout=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR")
    args = parser.parse_args()
    with screenshot_site(keep=args.keep) as site:
        from django.core.management import call_command
        from django.utils import timezone

        from challenges.models import Challenge

        call_command("migrate", verbosity=0)
        call_command("ensure_accounts")
        now = timezone.now()
        Challenge.objects.get_or_create(
            slug="demo",
            defaults={
                "title": "Demo challenge",
                "start": now - timedelta(days=20),
                "end": now + timedelta(days=40),
            },
        )
        site.workers("worker")
        build_state(site.data_dir)
        base = site.web()
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/tasks/{SLUG}/")
            section = page.locator("#champion")
            section.wait_for()
            shoot_element(section, "champion.png")


if __name__ == "__main__":
    main()
