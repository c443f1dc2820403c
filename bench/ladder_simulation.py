"""The public board's mechanisms against two attackers and one honest team, simulated in numpy
(docs/organizers/ladder.md, "Choosing the mechanism"; decision 0068).

**The world** (Blum & Hardt's): random binary labels on ``--rows`` test rows of which
``--public`` are public; every method's true accuracy is 0.5, so a leader's shown public
accuracy above its private accuracy is overfitting: its *gap*.

**The attackers**, k = ``--k`` uploads each:

- *random* (Blum & Hardt's boosting attack, ``mrtzh/Ladder.jl`` ``examples/attacks.jl``):
  k random label vectors, keep those the board says are better (plain: above 0.5; other
  mechanisms: those that climbed), upload their row-wise majority;
- *adaptive* (block flips): start from a random vector; each upload flips a random block of
  40-60 rows of the attacker's current best; the flip is kept when the entry climbed (the
  API's ``climbed``: at least as much as the shown score's rise tells). The attacker does not
  know which rows are public (a block lands on about
  ``block * public / rows`` of them); ``--public == --rows`` plays the attacker who does.

**The honest team**: a model of true accuracy 0.70, then one 0.03 better: on each row the
better model fixes 9% of the rows (wrong before) and breaks 6% (right before), 15% of rows
changed, as a retrained model does. It *climbs* when its second entry moves the shown score.

**The mechanisms** (``MECHANISMS``): the board modes, Blum & Hardt's Ladder with a fixed step
(their Algorithm 1) and Dwork et al.'s Thresholdout (a noisy threshold and a noisy answer),
a cap on climbs per day and combinations. Every decision of ``ladder`` and ``ladder-step`` is
the platform's own (``leaderboard.core.ladder``).

Run: .venv/bin/python bench/ladder_simulation.py [--trials 200] [--rows 20000 --public 2000]
[--block 150 250] [--knows-public]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from leaderboard.core import ladder

K = 200
LADDER_STEP = "ladder-step (step 0.01 and the parameter-free rule)"
BLOCK = (40, 60)
UPLOADS_PER_DAY = 10  # the challenge's daily limit the cap mechanisms are read against


@dataclass
class Board:
    """One team's view of one mechanism: ``decide(new_correct, leader_correct, state)`` returns
    the new shown score (None: no climb). ``state`` carries what a mechanism keeps."""

    name: str
    decide: Callable[..., float | None]


def _accuracy(correct: np.ndarray) -> float:
    return float(correct.mean())


def plain(new, old, shown, state):
    exact = _accuracy(new)
    return exact if old is None or exact > _accuracy(old) else None


def parameter_free(new, old, shown, state):
    """The ``ladder`` mode: Blum & Hardt's parameter-free Ladder, the platform's rule."""
    n = new.size
    if old is None:
        return ladder.rounded(_accuracy(new), n)
    u = new.astype(np.int64) - old.astype(np.int64)
    decision = ladder.ladder_decision(
        delta=float(u.sum()) / n, influence=u / n, exact_gain=_accuracy(new) - _accuracy(old),
        exact=_accuracy(new), units=n,
    )  # fmt: skip
    return decision.shown_score if decision.climbed else None


def fixed_step(eta: float, *, cap: int | None = None) -> Callable:
    """Blum & Hardt's Ladder, Algorithm 1: climb when the exact score beats the shown one by
    more than ``eta``; the shown score is the exact one on the ``eta`` grid. ``cap``: at most
    that many climbs a day (``UPLOADS_PER_DAY`` uploads a day)."""

    def decide(new, old, shown, state):
        exact = _accuracy(new)
        if old is None:
            return ladder.on_grid(exact, eta)
        if cap is not None:
            day = state["uploads"] // UPLOADS_PER_DAY
            if state.get("day") != day:
                state["day"], state["climbs"] = day, 0
            if state["climbs"] >= cap:
                return None
        if exact > shown + eta * (1 + ladder.TIE):
            if cap is not None:
                state["climbs"] += 1
            return ladder.on_grid(exact, eta)
        return None

    return decide


def step_and_error(new, old, shown, state):
    """``ladder-step``: Blum & Hardt's Algorithm 1 with the step the split's resolution (0.01
    on 2,000 rows) and their parameter-free rule together, the platform's own decision."""
    n = new.size
    if old is None:
        return ladder.rounded(_accuracy(new), n)
    u = new.astype(np.int64) - old.astype(np.int64)
    decision = ladder.step_decision(
        delta=float(u.sum()) / n, influence=u / n, exact=_accuracy(new), shown=shown,
        sign=1.0, units=n,
    )  # fmt: skip
    return decision.shown_score if decision.climbed else None


def step_and_error_climbing(steps: float) -> Callable:
    """``ladder-step`` with a climb that needs ``steps`` steps above the shown score (the
    shown score still on the step's grid): the variant weighed against larger blocks
    (docs/organizers/ladder.md, "What it does not close")."""

    def decide(new, old, shown, state):
        n = new.size
        if old is None:
            return ladder.rounded(_accuracy(new), n)
        u = new.astype(np.int64) - old.astype(np.int64)
        climbed, _ = ladder.t_rule(delta=float(u.sum()) / n, influence=u / n)
        exact = _accuracy(new)
        if climbed and exact - shown > steps * ladder.resolution(n) * (1 + ladder.TIE):
            return ladder.rounded(exact, n)
        return None

    return decide


def thresholdout(threshold: float, sigma: float, eta: float) -> Callable:
    """Dwork et al.'s Thresholdout read as a leaderboard: a new entry climbs when its exact
    score beats the shown one by more than ``threshold`` plus Laplace noise of scale
    ``2 sigma``; its shown score is the exact one plus Laplace noise of scale ``sigma``, on
    the ``eta`` grid. The noise is drawn per upload (``state["rng"]``)."""

    def decide(new, old, shown, state):
        rng = state["rng"]
        exact = _accuracy(new)
        answer = ladder.on_grid(exact + rng.laplace(0, sigma), eta)
        if old is None:
            return answer
        if exact > shown + threshold + rng.laplace(0, 2 * sigma):
            return max(answer, shown) if answer > shown else None
        return None

    return decide


MECHANISMS: dict[str, Callable] = {
    "plain": plain,
    "ladder (parameter-free, shown on 0.01)": parameter_free,
    "Ladder step 0.005": fixed_step(0.005),
    "Ladder step 0.01": fixed_step(0.01),
    "Ladder step 0.015": fixed_step(0.015),
    LADDER_STEP: step_and_error,
    "ladder-step, a climb 1.5 steps above the shown score": step_and_error_climbing(1.5),
    "Ladder step 0.02": fixed_step(0.02),
    "plain, 1 climb a day": fixed_step(1e-12, cap=1),
    "Ladder step 0.005, 1 climb a day": fixed_step(0.005, cap=1),
    "Thresholdout T 0.01 sigma 0.005": thresholdout(0.01, 0.005, 0.01),
    "Thresholdout T 0.005 sigma 0.0025": thresholdout(0.005, 0.0025, 0.005),
}


def adaptive_attack(decide, *, rows, public, k, rng, knows_public=False, block=BLOCK) -> float:
    """The block-flip attacker's leader's gap (shown public minus private accuracy)."""
    truth = rng.integers(0, 2, rows)
    is_public = np.zeros(rows, dtype=bool)
    is_public[rng.choice(rows, public, replace=False)] = True
    best = rng.integers(0, 2, rows)
    where = np.flatnonzero(is_public) if knows_public else np.arange(rows)
    state = {"rng": rng, "uploads": 0}
    shown = decide(best[is_public] == truth[is_public], None, None, state)
    leader = best
    for _ in range(k - 1):
        state["uploads"] += 1
        candidate = best.copy()
        size = rng.integers(block[0], block[1] + 1)
        candidate[rng.choice(where, size, replace=False)] ^= 1
        after = decide(candidate[is_public] == truth[is_public],
                       leader[is_public] == truth[is_public], shown, state)  # fmt: skip
        if after is not None:
            leader = candidate
            best = candidate  # it climbed (a stronger signal than the shown score's rise)
            shown = after
    return shown - float((leader[~is_public] == truth[~is_public]).mean())


def random_attack(decide, *, rows, public, k, rng) -> float:
    """Blum & Hardt's boosting attacker's leader's gap."""
    truth = rng.integers(0, 2, rows)
    is_public = np.zeros(rows, dtype=bool)
    is_public[rng.choice(rows, public, replace=False)] = True
    vectors = rng.integers(0, 2, (k, rows))
    correct = vectors == truth
    state = {"rng": rng, "uploads": 0}
    shown, leader, kept = None, None, []
    for j in range(k):
        state["uploads"] = j
        old = None if leader is None else correct[leader, is_public]
        after = decide(correct[j, is_public], old, shown, state)
        if decide is plain:
            if correct[j, is_public].mean() > 0.5:
                kept.append(j)
        elif after is not None and leader is not None:
            kept.append(j)
        if after is not None:
            leader, shown = j, after
    if kept:
        majority = (vectors[kept].sum(axis=0) * 2 >= len(kept)).astype(int)
        right = majority == truth
        state["uploads"] = k
        after = decide(right[is_public], correct[leader, is_public], shown, state)
        if after is not None:
            return after - float(right[~is_public].mean())
    return shown - float(correct[leader, ~is_public].mean())


def honest_climbs(decide, *, public, rng) -> bool:
    """Whether the honest team's second model (0.03 better) moves its shown score."""
    first = rng.random(public) < 0.70
    draw = rng.random(public)
    second = first.copy()
    second[~first & (draw < 0.09 / 0.30)] = True  # fixes 9% of all rows
    second[first & (draw < 0.06 / 0.70)] = False  # breaks 6%
    state = {"rng": rng, "uploads": 0}
    shown = decide(first, None, None, state)
    state["uploads"] = 1
    after = decide(second, first, shown, state)
    return after is not None and after > shown


def table(
    *, trials: int, rows: int, public: int, k: int, knows_public: bool = False, names=None,
    block: tuple[int, int] = BLOCK,
) -> list[dict]:
    out = []
    for name, decide in MECHANISMS.items():
        if names and name not in names:
            continue
        rng = np.random.default_rng(20260)
        adaptive = [adaptive_attack(decide, rows=rows, public=public, k=k, rng=rng,
                                    knows_public=knows_public, block=block)
                    for _ in range(trials)]  # fmt: skip
        randoms = [random_attack(decide, rows=rows, public=public, k=k, rng=rng)
                   for _ in range(trials)]  # fmt: skip
        honest = np.mean([honest_climbs(decide, public=public, rng=rng) for _ in range(trials * 5)])
        out.append({"name": name, "adaptive": float(np.mean(adaptive)),
                    "adaptive_se": float(np.std(adaptive, ddof=1) / np.sqrt(trials)),
                    "random": float(np.mean(randoms)),
                    "random_se": float(np.std(randoms, ddof=1) / np.sqrt(trials)),
                    "honest": float(honest)})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--public", type=int, default=2000)
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--block", type=int, nargs=2, default=BLOCK, metavar=("LOW", "HIGH"),
                        help="the adaptive attacker's block sizes (rows flipped per upload)")
    parser.add_argument("--knows-public", action="store_true",
                        help="the adaptive attacker flips public rows only")  # fmt: skip
    args = parser.parse_args()
    print(
        f"{args.rows:,} rows, {args.public:,} public, k = {args.k}, {args.trials} trials"
        + (", the attacker knows the public rows" if args.knows_public else "")
        + f", blocks of {args.block[0]}-{args.block[1]} rows"
    )
    print("| mechanism | adaptive gap | random gap | honest climbs |")
    print("|---|---|---|---|")
    for r in table(
        trials=args.trials,
        rows=args.rows,
        public=args.public,
        k=args.k,
        knows_public=args.knows_public,
        block=tuple(args.block),
    ):
        print(
            f"| {r['name']} | {r['adaptive']:.3f} ± {r['adaptive_se']:.3f} | "
            f"{r['random']:.3f} ± {r['random_se']:.3f} | {r['honest']:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
