"""Blum & Hardt's boosting attack on a public board (``mrtzh/Ladder.jl``,
``examples/attacks.jl``), played as a participant: upload k random label vectors, read what
the board tells a participant about each (its exact public score on a plain board; whether it
climbed on a ladder board), keep those that look better than chance, upload their row-wise
majority. On a random-label task every vector's true score is chance, so whatever the
attacker's leader shows above it on the public board is overfitting: its gap to the private
score (``docs/organizers/ladder.md``)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rest_framework.test import APIClient

from leaderboard.models import LeaderboardEntry
from scoring.models import SubmissionStatus
from scoring.services.lifecycle import submission_score
from tests.leaderboard_tests.ladder_world import Planted, random_label_task
from tests.scoring_tests.factories import ChallengeFactory, make_participant

K = 200  # uploads of random label vectors per attack
PUBLIC_ROWS, ROWS = 2000, 20000  # 2,000 public rows; 18,000 private rows judge the truth

CHANCE = 0.5  # accuracy and macro-F1 of random binary labels


@dataclass(frozen=True)
class AttackResult:
    shown: float  # the attacker's shown public score on the board, as participants read it
    private: float  # the private score of the entry the board shows
    kept: int  # the vectors the attacker kept
    ids: tuple[int, ...]  # the submissions, in order
    climbed: tuple[bool, ...]  # what the board said of each

    @property
    def gap(self) -> float:
        return self.shown - self.private


def parquet_file(planted: Planted, values: np.ndarray, name: str) -> io.BytesIO:
    buffer = io.BytesIO()
    planted.frame(values).to_parquet(buffer, index=False)
    buffer.seek(0)
    buffer.name = f"{name}.parquet"
    return buffer


def api_upload(client: APIClient, planted: Planted, values: np.ndarray, name: str) -> int:
    """``values`` uploaded through the API as the client's team; returns the submission id."""
    response = client.post(
        f"/api/v1/tasks/{planted.task.slug}/submissions/",
        {"file": parquet_file(planted, values, name), "note": name},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def seen_by(client: APIClient, planted: Planted, pk: int) -> dict:
    """Submission ``pk`` as the attacker's list of submissions shows it (``chal
    submissions``: the newest first)."""
    found = client.get("/api/v1/submissions/", {"task": planted.task.slug, "limit": 1}).json()
    items = found["results"] if isinstance(found, dict) else found
    assert items[0]["id"] == pk, (items[0]["id"], pk)
    return items[0]


def attack(
    planted: Planted,
    client: APIClient,
    *,
    team_id: int,
    k: int,
    seed: int,
    send: Sender,
) -> AttackResult:
    """Play the attack through ``send`` (:class:`Sender`) on ``planted``; ``client`` is the
    attacker's, of team ``team_id``. The private score is read as the judge (the
    database).

    The k random vectors do not depend on what the board says, so they are uploaded one by
    one, each scored (and weighed in the board's refresh) before the next, and the attacker
    reads the list of its submissions once they all are, in pages of 100 as ``chal
    submissions`` reads it (``attacks.jl``'s batch; ``test_ladder_attack_live.py`` reads the
    same way): a step, decided in the refresh after its upload, stays as decided while
    later entries land, so it reads what it would have read after each upload (the same
    kept vectors, the same majority), without a read per upload."""
    rng = np.random.default_rng(seed)
    labels = np.array(planted.task.classes)
    vectors = rng.integers(0, 2, size=(k, planted.truth.size))
    metric = planted.task.primary_metric
    laddered = planted.task.public_board != "plain"
    ids = [send.scored(labels[vectors[j]], f"{seed}-{j}") for j in range(k)]
    seen = send.read(ids)
    kept, climbed = [], []
    for j, pk in enumerate(ids):
        climbed.append(bool(seen[pk]["climbed"]))
        if laddered:
            better = seen[pk]["climbed"]
        else:
            better = (seen[pk]["scores"].get("public") or {}).get(metric, 0.0) > CHANCE
        if better:
            kept.append(j)
    if kept:
        majority = (vectors[kept].sum(axis=0) * 2 >= len(kept)).astype(int)
        last = send(labels[majority], f"{seed}-majority")
        ids.append(last["id"])
        climbed.append(bool(last["climbed"]))
    return _result(planted, client, team_id=team_id, kept=len(kept), ids=ids, climbed=climbed)


def adaptive_attack(
    planted: Planted,
    client: APIClient,
    *,
    team_id: int,
    k: int,
    seed: int,
    send: Sender,
) -> AttackResult:
    """The block-flip attacker (decision 0068; ``bench/ladder_simulation.py``): a random label
    vector first, then k - 1 uploads each flipping a random block of 40-60 of the public
    rows (the attacker knows which rows are public: the strongest form) of its current best,
    kept when the board says the entry climbed. Read as ``attack``'s result."""
    rng = np.random.default_rng(seed)
    labels = np.array(planted.task.classes)
    public = np.flatnonzero(planted.public)
    best = rng.integers(0, 2, size=planted.truth.size)
    ids, climbed = [], []
    seen = send(labels[best], f"{seed}-0")
    ids.append(seen["id"])
    climbed.append(bool(seen["climbed"]))
    for j in range(1, k):
        candidate = best.copy()
        block = rng.choice(public, int(rng.integers(40, 61)), replace=False)
        candidate[block] ^= 1
        seen = send(labels[candidate], f"{seed}-{j}")
        ids.append(seen["id"])
        climbed.append(bool(seen["climbed"]))
        if seen["climbed"]:
            best = candidate
    return _result(planted, client, team_id=team_id, kept=sum(climbed), ids=ids, climbed=climbed)


def _result(
    planted: Planted, client: APIClient, *, team_id: int, kept: int, ids, climbed
) -> AttackResult:
    """The attacker's shown score as its board reads, and the private score of the entry the
    board shows, as the judge (the database) reads it."""
    board = client.get(f"/api/v1/tasks/{planted.task.slug}/leaderboard/").json()
    (mine,) = [e for e in board["entries"] if e["team_id"] == team_id]
    entry = LeaderboardEntry.objects.select_related("submission").get(
        task=planted.task, team_id=team_id, split="public"
    )
    return AttackResult(
        shown=float(mine["score"]),
        private=float(entry.submission.private_score),
        kept=kept,
        ids=tuple(ids),
        climbed=tuple(climbed),
    )


class Sender:
    """Uploads through the API as ``client``, each scored by the scoring service in this
    process (``submission_score``: what the worker runs, the board's refresh and its climb
    decision included) before the next."""

    def __init__(self, planted: Planted, client: APIClient) -> None:
        self.planted, self.client = planted, client

    def scored(self, values: np.ndarray, name: str) -> int:
        """``values`` uploaded and scored; the submission's id."""
        pk = api_upload(self.client, self.planted, values, name)
        assert submission_score(submission_pk=pk) == SubmissionStatus.SCORED
        return pk

    def __call__(self, values: np.ndarray, name: str) -> dict:
        """``values`` uploaded and scored; what the attacker then reads of it."""
        return seen_by(self.client, self.planted, self.scored(values, name))

    def read(self, pks: list[int]) -> dict[int, dict]:
        """Submissions ``pks`` as the attacker's list shows them, read in pages of 100 (the
        newest first, as ``chal submissions`` reads them), by id."""
        seen: dict[int, dict] = {}
        for offset in range(0, len(pks), 100):
            page = self.client.get(
                "/api/v1/submissions/",
                {"task": self.planted.task.slug, "limit": 100, "offset": offset},
            ).json()
            seen |= {item["id"]: item for item in page["results"]}
        assert set(pks) <= set(seen), "the list misses some of them"
        return seen


def attack_gaps(
    tmp_path: Path,
    *,
    metric: str,
    mode: str | None,
    seeds: Iterable[int],
    play: Callable[..., AttackResult] = attack,
    k: int = K,
    rows: int = ROWS,
) -> list[float]:
    """The leader's gap after one attack of ``k`` uploads per seed (``play``: :func:`attack`
    or :func:`adaptive_attack`), each on a random-label task of its own of ``rows`` rows,
    :data:`PUBLIC_ROWS` public (labels drawn from ``100 + seed``, the attacker's vectors
    from ``seed``); ``mode`` None: the mode a new task starts in."""
    challenge = ChallengeFactory(slug="cup", daily_submission_limit=10)
    challenge.daily_submission_limit = 10_000  # raised, as an organizer can
    challenge.save(update_fields=["daily_submission_limit"])
    gaps = []
    for seed in seeds:
        planted = random_label_task(
            tmp_path, challenge="cup", slug=f"r{seed}", rows=rows, seed=100 + seed,
            public_fraction=PUBLIC_ROWS / rows, metric=metric, mode=mode,
        )  # fmt: skip
        assert planted.public.sum() == PUBLIC_ROWS
        attacker = make_participant(challenge, name=f"attacker-{seed}")
        client = attacker.api()
        started = time.monotonic()
        result = play(
            planted, client, team_id=attacker.team.pk, k=k, seed=seed,
            send=Sender(planted, client),
        )  # fmt: skip
        print(
            f"{metric} {planted.task.public_board} {play.__name__} seed {seed}: shown "
            f"{result.shown:.4f} private "
            f"{result.private:.4f} gap {result.gap:+.4f} kept {result.kept} "
            f"({time.monotonic() - started:.0f} s)"
        )
        gaps.append(result.gap)
    return gaps


def honest_climbs(
    tmp_path: Path, *, teams: int, seed: int = 0, rows: int = ROWS
) -> list[bool]:
    """For each of ``teams`` honest teams on one random-label task of ``rows`` rows
    (:data:`PUBLIC_ROWS` public) in the mode a new task starts in: a first model right on 70%
    of the rows, then one 0.03 better (it fixes 9% of the rows, wrong before, and breaks 6%,
    right before: a retrained model), both uploaded through the API; whether the second
    climbed, as the team's API says."""
    challenge = ChallengeFactory(slug="honest-cup", daily_submission_limit=10)
    planted = random_label_task(
        tmp_path, challenge="honest-cup", slug="honest", rows=rows, seed=seed,
        public_fraction=PUBLIC_ROWS / rows, mode=None,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    labels = np.array(planted.task.classes)
    truth = np.searchsorted(labels, planted.truth)
    climbs = []
    for i in range(teams):
        team = make_participant(challenge, name=f"honest-{i}")
        client = team.api()
        send = Sender(planted, client)
        first = rng.random(truth.size) < 0.70
        draw = rng.random(truth.size)
        second = first.copy()
        second[~first & (draw < 0.09 / 0.30)] = True
        second[first & (draw < 0.06 / 0.70)] = False
        send.scored(labels[np.where(first, truth, 1 - truth)], f"honest-{i}-0")
        seen = send(labels[np.where(second, truth, 1 - truth)], f"honest-{i}-1")
        climbs.append(bool(seen["climbed"]))
    return climbs
