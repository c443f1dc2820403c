"""The public board's ladder modes (docs/organizers/ladder.md): what they leave of an attack, and
what they cost a scoring.

**The attack** (Blum & Hardt 2015; ``mrtzh/Ladder.jl``'s ``examples/attacks.jl``): random
binary labels on ``--rows`` public and as many private rows; the attacker uploads k random
label vectors, keeps those the board says are better (plain: an exact public accuracy above
0.5; a ladder mode: the entries that climbed), and uploads their row-wise majority. The
table gives, for each mode and k, the mean over ``--repeats`` attacks of the leader's shown
public accuracy minus its private accuracy (its overfitting: the true accuracy is 0.5),
with the standard error of that mean; and the reference of no adaptivity at all: the best of
k random vectors' public accuracy minus its private one. Every decision is the platform's
(``leaderboard.core.ladder``), on the statistic of the task's kind
(``kinds.classification.Accuracy``); the bootstrap rule draws the board's resamples
(``leaderboard.core.bootstrap.statistic_resamples``, 2,000 bootstraps, seed 98121), all the
attack's vectors scored on them at once, then weighed one by one.

**The cost** (``--scoring``): ``submission_score`` (the scoring service: read, score, store,
and the board's refresh with its decision) of the same files on three tasks that differ only
by their mode, in turns (a round scores one file on each), on a site of the bench's own
(SQLite, a temporary ``DATA_DIR``); the medians per mode, and each mode's median over the
plain board's.

**The attackers over HTTP** (``--attack random|adaptive``, ``bench/ladder_http.py``): a site of
the bench's own (gunicorn, a scoring worker), k uploads per attack through the API, the gap per
mode and seed, an honest team's climbs and the decisions per second.

Run: .venv/bin/python bench/bench_ladder.py [--repeats 200] [--ks 50 200 1000]
     [--bootstrap-repeats 60] [--scoring] [--scoring-rows 20000] [--rounds 30]
     .venv/bin/python bench/bench_ladder.py --attack adaptive [--k 200] [--seeds 0 1 2]
     [--modes plain ladder ladder-bootstrap ladder-step] [--honest 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from kinds.classification import Accuracy
from leaderboard.core import ladder
from leaderboard.core.bootstrap import statistic_resamples

CHANCE = 0.5


def _shown(mode: str, exact: float, n: int, samples: np.ndarray | None) -> float:
    if mode == "plain":
        return exact
    if mode == "ladder":
        return ladder.rounded(exact, n)
    return ladder.bootstrap_report(samples)


def attack(mode: str, k: int, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """One attack: (the leader's shown public minus private accuracy, the no-adaptivity
    reference: the best random vector's public minus private accuracy)."""
    y = rng.integers(0, 2, 2 * n)
    vectors = rng.integers(0, 2, (k, 2 * n))
    public, private = slice(0, n), slice(n, 2 * n)
    correct = vectors == y
    exact_public = correct[:, public].mean(axis=1)
    exact_private = correct[:, private].mean(axis=1)
    best = int(np.argmax(exact_public))
    reference = exact_public[best] - exact_private[best]
    statistic = Accuracy()
    samples = None
    if mode == "ladder-bootstrap":
        _, _, samples = statistic_resamples(
            y=y[public], preds=list(vectors[:, public]), statistic=statistic,
            n_resamples=2000, seed=ladder.SEED,
        )  # fmt: skip
    if mode == "plain":  # keeps what scored above chance; its leader is its best entry
        kept, leader = [j for j in range(k) if exact_public[j] > CHANCE], best
    else:  # keeps what climbed; its leader is the last that did
        leader, kept = None, []
        for j in range(k):
            if _climbs(mode, j, leader, vectors, y, n, exact_public, samples, statistic):
                kept.append(j)
                leader = j
    if not kept:
        return 0.0, reference
    majority = (vectors[kept].sum(axis=0) * 2 >= len(kept)).astype(int)
    right = majority == y
    m_public, m_private = right[public].mean(), right[private].mean()
    m_samples = None
    if mode == "ladder-bootstrap":
        _, _, m_samples = statistic_resamples(
            y=y[public], preds=[majority[public]], statistic=statistic,
            n_resamples=2000, seed=ladder.SEED,
        )  # fmt: skip
        m_samples = m_samples[:, 0]
    if mode == "plain":
        climbs = m_public > exact_public[leader]
    elif mode == "ladder":
        delta, influence = ladder.paired_linearization(
            y=y[public], new=majority[public], old=vectors[leader, public],
            statistic=statistic, sign=1.0,
        )  # fmt: skip
        climbs = ladder.ladder_decision(
            delta=delta, influence=influence, exact_gain=m_public - exact_public[leader],
            exact=m_public, units=n,
        ).climbed  # fmt: skip
    else:
        climbs = ladder.bootstrap_decision(
            new=m_samples, old=samples[:, leader], higher_is_better=True, threshold=3, units=n
        ).climbed
    if climbs:
        return _shown(mode, m_public, n, m_samples) - m_private, reference
    own = None if samples is None else samples[:, leader]
    return _shown(mode, exact_public[leader], n, own) - exact_private[leader], reference


def _climbs(mode, j, leader, vectors, y, n, exact_public, samples, statistic) -> bool:
    """Whether vector ``j`` climbs over ``leader`` (None: the first) on a ladder board."""
    if leader is None:
        return True
    if mode == "ladder":
        delta, influence = ladder.paired_linearization(
            y=y[:n], new=vectors[j, :n], old=vectors[leader, :n], statistic=statistic, sign=1.0
        )
        return ladder.ladder_decision(
            delta=delta, influence=influence, exact_gain=exact_public[j] - exact_public[leader],
            exact=exact_public[j], units=n,
        ).climbed  # fmt: skip
    return ladder.bootstrap_decision(
        new=samples[:, j], old=samples[:, leader], higher_is_better=True, threshold=3, units=n
    ).climbed


def attack_table(args: argparse.Namespace) -> None:
    print(f"Attack: {args.rows:,} public and {args.rows:,} private rows of random labels")
    print(
        "| mode | k | attacks | leader's shown - private (mean ± s.e.) "
        "| best of k, no adaptivity |"
    )
    print("|---|---|---|---|---|")
    for mode in ("plain", "ladder", "ladder-bootstrap"):
        repeats = args.bootstrap_repeats if mode == "ladder-bootstrap" else args.repeats
        for k in args.ks:
            rng = np.random.default_rng(k)  # the same attacks for every mode
            results = [attack(mode, k, args.rows, rng) for _ in range(repeats)]
            gaps = [gap for gap, _ in results]
            references = [reference for _, reference in results]
            se = np.std(gaps, ddof=1) / np.sqrt(repeats)
            print(
                f"| {mode} | {k} | {repeats} | {np.mean(gaps):.3f} ± {se:.3f} | "
                f"{np.mean(references):.3f} |",
                flush=True,
            )


# --- the cost of a scoring ---------------------------------------------------------------------


def scoring_cost(args: argparse.Namespace) -> None:
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-ladder-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "challenge_platform.settings.test"
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    import pandas as pd
    import yaml
    from django.core.management import call_command

    from challenges.models import Challenge, Team
    from datasets.models import Task
    from datasets.services import task_import
    from scoring.services import submission_create_for_job, submission_score

    call_command("migrate", verbosity=0)
    folder = Path(os.environ["DATA_DIR"]) / "bench"
    rng = np.random.default_rng(0)
    rows = args.scoring_rows
    labels = rng.permutation(np.repeat(np.array(["0", "1"]), rows // 2))
    ids = np.array([f"r{i:07d}" for i in range(rows)])
    files = []
    for i in range(args.rounds):
        path = folder / f"s{i}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"id": ids, "label": rng.choice(["0", "1"], rows)}).to_parquet(path)
        files.append(path)
    challenge = Challenge.objects.create(
        slug="bench", title="bench", start=django.utils.timezone.now(),
        end=django.utils.timezone.now() + django.utils.timezone.timedelta(days=30),
        daily_submission_limit=100_000,
    )  # fmt: skip
    tasks, teams = {}, {}
    for mode in ("plain", "ladder", "ladder-bootstrap"):
        bundle = folder / f"bundle-{mode}"
        bundle.mkdir()
        (bundle / "task.yaml").write_text(
            yaml.safe_dump(
                {
                    "slug": f"t-{mode}",
                    "title": mode,
                    "kind": "classification",
                    "public_fraction": 0.1,
                    "columns": {"x": "numeric"},
                }
            )
        )
        pd.DataFrame(
            {"id": [f"t{i}" for i in range(40)], "x": np.arange(40.0), "label": ["0", "1"] * 20}
        ).to_parquet(bundle / "train.parquet")
        pd.DataFrame({"id": ids, "x": rng.normal(size=rows)}).to_parquet(bundle / "test.parquet")
        pd.DataFrame({"id": ids, "label": labels}).to_parquet(bundle / "solution.parquet")
        task = task_import(source=bundle, challenge_slug="bench", track_slug="bench")
        Task.objects.filter(pk=task.pk).update(public_board=mode)
        tasks[mode] = Task.objects.get(pk=task.pk)
        teams[mode] = Team.objects.create(challenge=challenge, name=f"team-{mode}")
    times: dict[str, list[float]] = {mode: [] for mode in tasks}
    for i, path in enumerate(files):
        for mode, task in tasks.items():
            submission = submission_create_for_job(
                task=task, team=teams[mode], predictions=path, note="", name=f"{mode}-{i}"
            )
            started = time.perf_counter()
            submission_score(submission_pk=submission.pk)
            times[mode].append(time.perf_counter() - started)
    plain = statistics.median(times["plain"][1:])
    print(f"\nScoring cost: {rows:,} test rows ({rows // 10:,} public), {args.rounds} files a mode")
    print("| mode | median s | p90 s | / plain |")
    print("|---|---|---|---|")
    for mode, values in times.items():
        values = values[1:]  # the first: the solution's load and the caches
        median = statistics.median(values)
        p90 = float(np.percentile(values, 90))
        print(f"| {mode} | {median:.4f} | {p90:.4f} | {median / plain:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--bootstrap-repeats", type=int, default=60)
    parser.add_argument("--ks", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--scoring", action="store_true", help="also measure a scoring's cost")
    parser.add_argument("--scoring-only", action="store_true")
    parser.add_argument("--scoring-rows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--attack",
        choices=("random", "adaptive"),
        help="play this attacker over HTTP through the real pipeline instead "
        "(bench/ladder_http.py): the gap per mode and seed, honest climbs, decisions/s",
    )
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--modes", nargs="+", default=["plain", "ladder", "ladder-bootstrap", "ladder-step"]
    )
    parser.add_argument("--public", type=int, default=2000, help="--attack: public rows")
    parser.add_argument("--total-rows", type=int, default=20000, help="--attack: test rows")
    parser.add_argument("--honest", type=int, default=20, help="--attack: honest teams a mode")
    args = parser.parse_args()
    if args.attack:
        import ladder_http

        args.rows = args.total_rows
        ladder_http.run(args)
        return
    if not args.scoring_only:
        attack_table(args)
    if args.scoring or args.scoring_only:
        scoring_cost(args)


if __name__ == "__main__":
    main()
