"""The release check answers with the precision of an aggregate, never of a row
(docs/organizers/disclosure.md, issue 51): the one-row probe attack and 20 other single-row probes,
through the real API, learn nothing (every answer the same, whatever the row's label and
whether it is public at all); counts come from k changed rows on, the broken rows' ids to
the task's owners and organizers only; every check is counted against a daily budget of its
own, stated in the answer, and an answer refused or failed costs nothing."""

from __future__ import annotations

import io
import threading
from collections import Counter
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from leaderboard.champion.beat import champion_tick
from leaderboard.champion.budget import release_budget_take
from leaderboard.champion.disclosure import COUNTED, WITHHELD
from leaderboard.champion.selectors import ReleaseCheckRefused
from leaderboard.champion.services import champion_check_run, champion_ensure
from leaderboard.models import ChampionCheck, ReleaseCheckUse
from scoring.models import ReferenceSource, Submission
from scoring.selectors import next_utc_midnight
from scoring.services.upload import submission_create
from tests.challenges_tests.factories import add_member
from tests.leaderboard_tests.champion_world import gate_task, world_of
from tests.scoring_tests.factories import (
    ChallengeFactory,
    UserFactory,
    api_client_for,
    make_participant,
    upload,
)
from tests.scoring_tests.references_helpers import scored

pytestmark = pytest.mark.django_db

PROBES = 21  # the one-row probe of the issue, and 20 others


@pytest.fixture
def probed(tmp_path):
    """A task whose champion is the trivial baseline (nothing else on its way): the majority
    class everywhere, which anyone reads off the public train file."""
    challenge = ChallengeFactory(
        slug="probe-cup", daily_submission_limit=5, release_checks_per_day=PROBES + 3
    )
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug="probed", rows=2000)
    assert champion_ensure(task=task).reference.source == ReferenceSource.TRIVIAL
    with task.train_parquet.open("rb") as handle:
        train = pd.read_parquet(io.BytesIO(handle.read()))
    world = world_of(task)
    majority = world.classes.index(Counter(train["label"].astype(str)).most_common(1)[0][0])
    return task, world, majority, make_participant(challenge, username="eve", name="Eve")


def release_check(client, task, content: bytes):
    return client.post(
        f"/api/v1/tasks/{task.slug}/release-check/",
        {"file": upload(content, "probe.csv")},
        format="multipart",
    )


def one_row_changed(world, majority: int, row: int) -> np.ndarray:
    codes = np.full(len(world.ids), majority)
    codes[row] = (majority + 1) % len(world.classes)
    return codes


def test_single_row_probes_learn_nothing_beyond_the_budget(probed):
    task, world, majority, eve = probed
    api = api_client_for(eve.user)
    rng = np.random.default_rng(4)
    public, private = np.flatnonzero(world.public), np.flatnonzero(~world.public)
    rows = [
        *rng.choice(public, size=11, replace=False),
        *rng.choice(private, size=10, replace=False),
    ]
    # What each probe would reveal if the answer were a row's: fixed, broken or neither.
    other = (majority + 1) % len(world.classes)
    status = {
        row: "private"
        if not world.public[row]
        else (
            "fixed"
            if world.truth[row] == other
            else "broken"
            if world.truth[row] == majority
            else "neither"
        )
        for row in rows
    }
    assert {"fixed", "broken", "private"} <= set(status.values())  # the probes hit every case

    answers = {}
    for used, row in enumerate(rows, start=1):
        response = release_check(api, task, world.file(one_row_changed(world, majority, row)))
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer.pop("budget") == {
            "limit": PROBES + 3,
            "used": used,
            "remaining": PROBES + 3 - used,
            "resets_at": answer_reset(answer, response),
        }
        answers[row] = answer
    first = answers[rows[0]]
    assert all(answer == first for answer in answers.values())  # nothing tells them apart
    assert first["withheld"] == WITHHELD and first["min_changed_rows"] == 20
    assert (first["verdict"], first["rule"], first["passes"]) == ("fails", "improvement", False)
    assert all(first[name] is None for name in COUNTED)
    assert first["slices"] == [] and first["broken_ids"] == []
    assert first["reasons"][0] == "Fails: not shown better than the champion."
    assert not any(ch.isdigit() for ch in first["reasons"][0])

    # The budget ends the probing: two answers more, then a refusal that says when it resets.
    for _ in range(3):
        assert (
            release_check(api, task, world.file(np.full(len(world.ids), majority))).status_code
            == 200
        )
    refused = release_check(api, task, world.file(one_row_changed(world, majority, public[0])))
    assert refused.status_code == 429 and refused.json()["code"] == "daily_limit"
    assert int(refused["Retry-After"]) > 0 and "release checks" in refused.json()["detail"]
    assert ReleaseCheckUse.objects.filter(team=eve.team).count() == PROBES + 3
    assert Submission.objects.count() == 0  # no submission was spent on any of it


def answer_reset(answer: dict, response) -> str:
    return next_utc_midnight(at=timezone.now()).isoformat().replace("+00:00", "Z")


def test_counts_come_from_k_changed_rows_on_and_owners_and_organizers_see_them_all(probed):
    task, world, majority, eve = probed
    public = np.flatnonzero(world.public)
    k = task.track.challenge.release_check_min_changed
    few = np.full(len(world.ids), majority)
    few[public[: k - 1]] = world.truth[public[: k - 1]]  # k-1 changed rows, all "fixed" or kept
    many = np.full(len(world.ids), majority)
    many[public[: k + 5]] = (majority + 1) % len(world.classes)

    below = release_check(api_client_for(eve.user), task, world.file(few)).json()
    assert below["withheld"] == WITHHELD and below["mcnemar"] is None
    above = release_check(api_client_for(eve.user), task, world.file(many)).json()
    assert above["withheld"] is None
    assert above["mcnemar"]["fixes"] + above["mcnemar"]["breaks"] <= k + 5
    assert above["nfr"] is not None and above["broken_ids"] == []  # ids: owners only

    organizer = api_client_for(UserFactory(username="org", is_staff=True, is_superuser=True))
    seen = release_check(organizer, task, world.file(few)).json()
    assert seen["withheld"] is None and seen["mcnemar"] is not None and seen["budget"] is None
    owner = make_participant(task.track.challenge, username="owen", name="Owners")
    task.owner_team = owner.team
    task.save()
    theirs = release_check(api_client_for(owner.user), task, world.file(many)).json()
    assert theirs["withheld"] is None and len(theirs["broken_ids"]) == theirs["mcnemar"]["breaks"]


def test_a_refused_check_costs_nothing_and_the_limit_is_settable(probed):
    task, world, majority, eve = probed
    challenge = task.track.challenge
    challenge.release_checks_per_day = 1
    challenge.save(update_fields=["release_checks_per_day"])
    api = api_client_for(eve.user)
    bad = release_check(api, task, b"id,label\nnope,bird\n")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_file"
    assert not ReleaseCheckUse.objects.exists()
    ok = release_check(api, task, world.file(np.full(len(world.ids), majority)))
    assert ok.status_code == 200 and ok.json()["budget"]["remaining"] == 0
    assert (
        release_check(api, task, world.file(np.full(len(world.ids), majority))).status_code == 429
    )
    # A teammate shares the team's budget; the same person on no other team has none left.
    mate = UserFactory(username="mate")
    add_member(eve.team, mate)
    assert release_check(api_client_for(mate), task, b"id,label\n").status_code == 429


def test_a_stored_verdict_of_a_few_changed_rows_shows_no_counts_to_the_public(probed):
    task, world, majority, eve = probed
    probe = one_row_changed(world, majority, int(np.flatnonzero(world.public)[0]))
    submission = scored(submission_create(task=task, user=eve.user, file=upload(world.file(probe))))
    check = ChampionCheck.objects.get(submission=submission, decides=True)
    assert champion_check_run(check_pk=check.pk) == "kept"
    check.refresh_from_db()
    assert check.result["changed_rows"] == 1 and check.result["mcnemar"] is not None  # stored
    page = Client().get(f"/tasks/{task.slug}/").content.decode()
    row = (
        page.split('data-role="champion-verdicts"')[1].split('data-team="Eve"')[1].split("</tr>")[0]
    )
    assert "Too few changed rows to report" in row and "McNemar" not in row


def test_the_beat_forgets_uses_older_than_a_week(probed):
    task, world, majority, eve = probed
    now = timezone.now()
    for days in (0, 6, 8):
        ReleaseCheckUse.objects.create(team=eve.team, task=task, at=now - timedelta(days=days))
    champion_tick(task_ids=lambda: [])
    assert sorted((now - u.at).days for u in ReleaseCheckUse.objects.all()) == [0, 6]


@pytest.mark.django_db(transaction=True)
def test_parallel_checks_cannot_pass_the_daily_budget_together(tmp_path):
    """Eight members check at once with three checks left: three are answered (the team's
    row is held while one is taken), five refused."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (set DATABASE_URL=postgres://...): SQLite runs one write "
            "transaction at a time, so no two takers ever race"
        )
    challenge = ChallengeFactory(slug="rush-cup", release_checks_per_day=3)
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug="rushed", rows=400)
    team = make_participant(challenge, username="m0", name="Rushers").team
    members = [UserFactory(username=f"m{i}") for i in range(1, 9)]
    for member in members:
        add_member(team, member)
    start = threading.Barrier(len(members))
    outcomes: list[str] = []

    def take(member) -> None:
        try:
            start.wait(10)
            release_budget_take(team=team, task=task, user=member)
            outcomes.append("taken")
        except ReleaseCheckRefused as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["daily_limit"] * 5 + ["taken"] * 3
    assert ReleaseCheckUse.objects.filter(team=team, task=task).count() == 3


def _membership_probe(world, majority: int, known: np.ndarray, row: int) -> np.ndarray:
    """The champion's outputs (the majority class) with ``known`` rows (known public) and the
    probed ``row`` changed to another class."""
    codes = np.full(len(world.ids), majority)
    codes[[*known, row]] = (majority + 1) % len(world.classes)
    return codes


@pytest.mark.parametrize("changed", ["below k", "at k"])
def test_the_membership_probe_learns_nothing_from_whether_counts_are_given(probed, changed):
    """Issue 66: a prober who knows the champion's outputs (here the majority class, read off
    the train file) and some public rows changes k - 1 known public rows and one row it
    probes. Were the k rule counted on the public split, the counts would come when the
    probed row is public and not when it is private: one row's membership per check. The
    rule counts changed rows over the whole test set: a public and a private probed row get
    the same withheld (below k: the whole answer alike; at k: counts for both)."""
    task, world, majority, eve = probed
    k = task.track.challenge.release_check_min_changed
    public, private = np.flatnonzero(world.public), np.flatnonzero(~world.public)
    other = (majority + 1) % len(world.classes)
    # Known public rows whose label is neither class (changing them breaks and fixes nothing)
    # would be ideal; rows of the majority class are broken either way, whatever the probe.
    known = public[world.truth[public] == majority][: (k - 2 if changed == "below k" else k - 1)]
    probe_public = public[(world.truth[public] != other) & ~np.isin(public, known)][0]
    probe_private = private[world.truth[private] != other][0]
    api = api_client_for(eve.user)
    answers = []
    for row in (probe_public, probe_private):
        response = release_check(
            api, task, world.file(_membership_probe(world, majority, known, row))
        )
        assert response.status_code == 200, response.content
        answer = response.json()
        answer.pop("budget")
        answers.append(answer)
    on_public, on_private = answers
    assert on_public["withheld"] == on_private["withheld"]
    if changed == "below k":
        assert on_public["withheld"] == WITHHELD
        assert on_public == on_private  # nothing tells them apart
    else:
        # k changed rows over the whole test set: counts for both, whichever is public (the
        # counts then say what two submissions' scores would: one row per check).
        assert on_public["withheld"] is None and on_private["withheld"] is None
        assert on_public["mcnemar"] is not None and on_private["mcnemar"] is not None
