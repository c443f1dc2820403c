"""The living benchmark in-process (issue 26): membership and its API, re-runs queued by a
new task and a new data version, the budget closing and opening the class, the queue's API,
run manifests (seed, hashes, use), reuse of identical inputs, reproductions, and the
post-challenge benchmark. Runs execute in the real sandbox, claimed in this process; the
real workers' tests are in ``test_benchmark_workers.py``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.benchmark import (
    benchmark_status,
    benchmark_tick,
    benchmark_versions,
    sampled_for_reproduction,
)
from algorithms.services.budget import budget_open, prefer_other_seconds, used_cpu_seconds_today
from algorithms.services.dispatch import queued_in_claim_order, run_claim_next
from algorithms.services.execute import algorithm_run_execute
from algorithms.services.manifest import MANIFEST_KEYS, runtime_lock_sha256
from algorithms.services.manifest import SAME_WORKER as SAME
from algorithms.services.profiles import BENCHMARK, REPRODUCTION, TEAM, served_with
from algorithms.services.runs import run_create
from challenges.models import Challenge, Team
from datasets.models import Task
from datasets.replace import task_bundle_replace
from jobs.liveness import Liveness
from leaderboard.models import LeaderboardEntry
from leaderboard.transfer.matrix import transfer_matrix
from scoring.services.lifecycle import submission_score
from standings.models import FinalStandings
from standings.selectors import post_challenge_board
from standings.services import challenge_finish
from testkit.archives import HONEST_MAIN
from testkit.bundles import write_classification_bundle
from tests.algorithms_tests.services_helpers import queue
from tests.scoring_tests.factories import (
    Participant,
    UserFactory,
    api_client_for,
    imported_task,
    make_participant,
)
from tests.support.broker import queue_length

from .benchmark_helpers import beating, upload

pytestmark = pytest.mark.slow

SEED_MAIN = (
    HONEST_MAIN
    + """
print("SEED=" + os.environ.get("SEED", "missing"), "task.json seed=" + str(meta.get("seed")))
"""
)


def reruns(task=None):
    runs = AlgorithmRun.objects.filter(profile=BENCHMARK.name)
    return runs.filter(task=task) if task is not None else runs


def execute(run: AlgorithmRun) -> str:
    return algorithm_run_execute(run_pk=run.pk, worker="test-node")


# --- membership --------------------------------------------------------------------------------


def test_default_membership_is_the_latest_and_the_final_version(world, broker):
    first = upload(world.participant, world.challenge, "A")
    second = upload(world.participant, world.challenge, "A")
    other = upload(world.rival, world.challenge, "B")
    assert set(benchmark_versions(challenge=world.challenge)) == {second, other}

    client = world.participant.api()
    url = f"/api/v1/algorithms/{first.algorithm_id}/versions/1/"
    answer = client.patch(url, {"final": True}, format="json")
    assert answer.status_code == 200
    assert answer.json()["is_final"] is True and answer.json()["in_benchmark"] is True
    assert set(benchmark_versions(challenge=world.challenge)) == {first, second, other}

    # Marked out, the latest leaves; marked back to the default, it returns.
    url2 = f"/api/v1/algorithms/{second.algorithm_id}/versions/2/"
    out = client.patch(url2, {"in_benchmark": False}, format="json").json()
    assert out["in_benchmark"] is False and out["benchmark_mark"] is False
    assert set(benchmark_versions(challenge=world.challenge)) == {first, other}
    assert client.patch(url2, {"in_benchmark": None}, format="json").json()["in_benchmark"]
    # One final version per team.
    client.patch(url2, {"final": True}, format="json")
    first.refresh_from_db()
    assert first.is_final is False
    listed = client.get(f"/api/v1/algorithms/{first.algorithm_id}/").json()["versions"]
    assert [(v["number"], v["in_benchmark"], v["is_final"]) for v in listed] == [
        (2, True, True),
        (1, False, False),
    ]


def more_versions(version: AlgorithmVersion, count: int) -> list[AlgorithmVersion]:
    """``count`` more versions of ``version``'s algorithm, sharing its stored archive (the
    marks are the subject, not the uploads: 73 uploads would meet the upload rate)."""
    made = []
    for number in range(version.number + 1, version.number + 1 + count):
        made.append(
            AlgorithmVersion.objects.create(
                algorithm=version.algorithm,
                number=number,
                archive=version.archive.name,
                archive_sha256=version.archive_sha256,
                archive_size=version.archive_size,
            )
        )
    return made


def test_marking_past_the_cap_is_refused_naming_the_versions_in(world, broker, client):
    """Issue 39's probe: one team marked 73 versions in, and every new task would have queued
    all of them. ``BENCHMARK_VERSIONS_PER_TEAM`` (3): the 4th mark and every later one get 409
    with the three named; nothing changes; the team's benchmark holds three versions."""
    first = upload(world.participant, world.challenge, "A")
    versions = [first, *more_versions(first, 72)]
    other = upload(world.rival, world.challenge, "B")
    api = world.participant.api()
    answers = [
        api.patch(
            f"/api/v1/algorithms/{first.algorithm_id}/versions/{v.number}/",
            {"in_benchmark": True},
            format="json",
        )
        for v in versions
    ]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert {a.status_code for a in answers[3:]} == {409}
    refusal = answers[3].json()
    assert refusal["code"] == "benchmark_cap"
    assert "already has 3 versions marked in the benchmark" in refusal["detail"]
    assert "A v1, A v2, A v3" in refusal["detail"] and "A v4 was not marked" in refusal["detail"]
    assert list(
        AlgorithmVersion.objects.filter(in_benchmark=True)
        .order_by("number")
        .values_list("number", flat=True)
    ) == [1, 2, 3]
    # The marks displace the default (the latest, v73): the team keeps three.
    assert set(benchmark_versions(challenge=world.challenge)) == {*versions[:3], other}
    listed = api.get(f"/api/v1/algorithms/{first.algorithm_id}/").json()["versions"]
    assert sorted(v["number"] for v in listed if v["in_benchmark"]) == [1, 2, 3]

    # The page: the same refusal, shown with 409; marking one out makes room.
    client.force_login(world.participant.user)
    mark = f"/algorithms/{first.algorithm_id}/versions/%d/mark/"
    page = client.post(mark % 40, {"benchmark": "in"})
    assert page.status_code == 409
    assert "already has 3 versions marked in the benchmark" in page.content.decode()
    assert client.post(mark % 2, {"benchmark": "out"}).status_code == 302
    assert client.post(mark % 40, {"benchmark": "in"}).status_code == 302
    assert set(benchmark_versions(challenge=world.challenge)) == {
        versions[0],
        versions[2],
        versions[39],
        other,
    }


def test_defaults_past_the_cap_keep_the_final_and_the_newest(world, broker, settings):
    """Five algorithms, each with its latest version in by default: the team keeps its final
    version and then its newest uploads, three in all."""
    settings.BENCHMARK_VERSIONS_PER_TEAM = 3
    first = upload(world.participant, world.challenge, "A")
    latest = [more_versions(first, 1)[0]]
    for name in "BCDE":
        latest.append(upload(world.participant, world.challenge, name))
    first.is_final = True
    first.save(update_fields=["is_final"])
    assert set(benchmark_versions(challenge=world.challenge)) == {first, latest[-1], latest[-2]}
    settings.BENCHMARK_VERSIONS_PER_TEAM = 0  # no cap: the rule alone
    assert set(benchmark_versions(challenge=world.challenge)) == {first, *latest}


def test_a_team_cannot_mark_another_teams_version(world, broker):
    theirs = upload(world.rival, world.challenge, "B")
    url = f"/api/v1/algorithms/{theirs.algorithm_id}/versions/1/"
    intruder = world.participant.api()
    assert intruder.patch(url, {"in_benchmark": False}, format="json").status_code == 404
    assert intruder.get(url).status_code == 404
    # An organizer sees the version but marks for no team.
    organizer = api_client_for(UserFactory(username="boss", is_staff=True))
    assert organizer.get(url).status_code == 200
    assert organizer.patch(url, {"in_benchmark": False}, format="json").status_code == 404
    # Nonsense is refused with a message; nothing changed.
    owner = world.rival.api()
    bad = owner.patch(url, {"in_benchmark": "perhaps"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert owner.patch(url, {"final": 0}, format="json").status_code == 400  # JSON booleans only
    empty = owner.patch(url, {}, format="json")  # nothing asked: nothing changes
    assert empty.status_code == 200 and empty.json()["in_benchmark"] is True
    form = "in_benchmark=null&final=0"  # "0" and "null" are strings, not the schema's booleans
    assert (
        owner.patch(url, form, content_type="application/x-www-form-urlencoded").status_code == 415
    )
    theirs.refresh_from_db()
    assert theirs.in_benchmark is None and theirs.is_final is False
    # A hidden team marks nothing.
    world.rival.team.is_hidden = True
    world.rival.team.save()
    assert owner.patch(url, {"final": True}, format="json").status_code == 403


# --- re-runs -----------------------------------------------------------------------------------


def test_a_new_task_and_a_new_data_version_queue_every_benchmark_version(
    world, broker, tmp_path: Path
):
    a = upload(world.participant, world.challenge, "A")
    b = upload(world.rival, world.challenge, "B")
    hidden = make_hidden_team_version(world, tmp_path)
    assert not reruns().exists()

    task = imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    queued = reruns(task)
    assert sorted(queued.values_list("version_id", flat=True)) == sorted([a.pk, b.pk])
    assert hidden.pk not in queued.values_list("version_id", flat=True)
    assert {r.status for r in queued} == {AlgorithmRunStatus.QUEUED}
    assert all(r.started_by is None and r.submission is None for r in queued)

    # A new data version while they are pending queues nothing twice ...
    bundle = write_classification_bundle(tmp_path / "v2", rows=80, task={"slug": "later-task"})
    task_bundle_replace(task=task, source=bundle, actor=None, reason="more rows")
    assert reruns(task).count() == 2
    # ... and once they ended, another data version queues them again.
    reruns(task).update(status=AlgorithmRunStatus.SUCCEEDED, finished_at=timezone.now())
    bundle = write_classification_bundle(tmp_path / "v3", rows=90, task={"slug": "later-task"})
    task_bundle_replace(task=task, source=bundle, actor=None, reason="even more")
    assert reruns(task).filter(status=AlgorithmRunStatus.QUEUED).count() == 2


def make_hidden_team_version(world, tmp_path: Path) -> AlgorithmVersion:

    ghost = make_participant(world.challenge, username="ghost")
    version = upload(ghost, world.challenge, "Ghost")
    ghost.team.is_hidden = True
    ghost.team.save()
    return version


def test_a_participants_run_is_claimed_before_an_older_rerun(world, broker, tmp_path):
    a = upload(world.participant, world.challenge, "A")
    task = imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    (rerun,) = reruns(task)
    with transaction.atomic():
        asked = run_create(
            profile=TEAM, version=a, task=world.classification, user=world.participant.user
        )
    first = run_claim_next(served=served_with(profile=TEAM), token="t1", worker="n")
    assert first.pk == asked.pk
    assert run_claim_next(served=served_with(profile=TEAM), token="t2", worker="n").pk == rerun.pk


def test_the_budget_closes_and_opens_the_class(world, broker, tmp_path, settings):
    upload(world.participant, world.challenge, "A")
    upload(world.rival, world.challenge, "B")
    task = imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    first, second = reruns(task).order_by("pk")
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 0.001  # 3.6 CPU seconds
    assert run_claim_next(served=served_with(profile=TEAM), token="t1", worker="n").pk == first.pk
    AlgorithmRun.objects.filter(pk=first.pk).update(
        status=AlgorithmRunStatus.SUCCEEDED, finished_at=timezone.now(), cpu_seconds=10.0
    )
    assert used_cpu_seconds_today() == 10.0 and not budget_open()
    assert run_claim_next(served=served_with(profile=TEAM), token="t2", worker="n") is None
    assert AlgorithmRun.objects.get(pk=second.pk).status == AlgorithmRunStatus.QUEUED
    # A participant's run still goes.
    version = AlgorithmVersion.objects.get(algorithm__name="A")
    with transaction.atomic():
        asked = run_create(profile=TEAM, version=version, task=task, user=world.participant.user)
    assert run_claim_next(served=served_with(profile=TEAM), token="t3", worker="n").pk == asked.pk
    # The next day the spent CPU no longer counts.
    yesterday = timezone.now() - timedelta(days=1)
    AlgorithmRun.objects.filter(pk=first.pk).update(finished_at=yesterday)
    assert budget_open()
    AlgorithmRun.objects.filter(pk=first.pk).update(finished_at=timezone.now())
    # A higher budget opens it the same day.
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 1
    assert run_claim_next(served=served_with(profile=TEAM), token="t4", worker="n").pk == second.pk


def test_the_beat_rings_when_the_budget_opens_again(world, broker, tmp_path, settings):
    upload(world.participant, world.challenge, "A")
    imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    broker.flushall()
    # Queued a while ago (a younger row's message may still be on its way).
    AlgorithmRun.objects.update(status_changed_at=timezone.now() - timedelta(minutes=5))
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 0
    assert benchmark_tick()["rung"] == 0
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 1
    assert benchmark_tick()["rung"] == 1  # opened: one doorbell per queued re-run
    assert benchmark_tick()["rung"] == 0  # still open: the doorbell is out already
    assert queue_length(broker, "algorithms") == 1


def test_the_queue_api_counts_and_estimates(world, broker, tmp_path, settings):
    upload(world.participant, world.challenge, "A")
    upload(world.rival, world.challenge, "B")
    task = imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    url = f"/api/v1/challenges/{world.challenge.slug}/benchmark/"
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 2
    body = api_client_for(UserFactory(username="someone")).get(url).json()
    assert body == {
        "pending": 2,
        "running": 0,
        "done": 0,
        "failed": 0,
        "eta_seconds": None,  # no re-run has run yet to learn from
        "budget": {"cpu_hours_per_day": 2.0, "used_today": 0.0},
    }
    first, _ = reruns(task).order_by("pk")
    AlgorithmRun.objects.filter(pk=first.pk).update(
        status=AlgorithmRunStatus.SUCCEEDED, finished_at=timezone.now(), seconds=30, cpu_seconds=36
    )
    body = world.participant.api().get(url).json()
    assert (body["pending"], body["done"]) == (1, 1)
    assert body["eta_seconds"] is None  # no worker of the algorithms queue is alive
    Liveness(
        holder="algorithms@host#1",
        client=broker,
        beat_seconds=1,
        lost_after=60,
        sweep=lambda holder, reason: ([], []),
        holders_of_claims=list,
        queues=("algorithms",),
    ).beat()
    body = world.participant.api().get(url).json()
    assert body["eta_seconds"] == 30.0  # one more of 30 s, on one worker
    assert body["budget"]["used_today"] == 0.01
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 0.01  # spent: the rest waits for tomorrow
    status = benchmark_status(challenge=world.challenge)
    assert (
        status.eta_seconds
        > (timezone.now().replace(hour=23, minute=59) - timezone.now()).total_seconds()
    )
    assert api_client_for(None).get(url).status_code == 200  # like the challenge list
    assert world.participant.api().get("/api/v1/challenges/nope/benchmark/").status_code == 404


# --- manifests, reuse, reproductions -----------------------------------------------------------


def test_a_run_records_its_manifest_and_the_algorithm_gets_the_seed(world, broker, settings):
    settings.ALGORITHM_SEED = 1234
    client = world.participant.api()
    version = upload(world.participant, world.challenge, "S", main=SEED_MAIN)
    (run,) = queue(client, version.algorithm_id, tasks=[world.classification.slug]).json()["runs"]
    assert execute(AlgorithmRun.objects.get(pk=run["id"])) == "succeeded"
    body = client.get(f"/api/v1/algorithm-runs/{run['id']}/").json()
    manifest = body["manifest"]
    assert list(manifest) == list(MANIFEST_KEYS)
    assert manifest["archive_sha256"] == version.archive_sha256
    assert (
        manifest["runtime_lock_sha256"] == runtime_lock_sha256()
        and len(manifest["runtime_lock_sha256"]) == 64
    )
    assert manifest["task_data_version"] == 1 and len(manifest["task_data_sha256"]) == 64
    assert manifest["seed"] == 1234
    assert manifest["cpu_seconds"] > 0 and manifest["wall_seconds"] > 0
    assert manifest["peak_memory_mb"] > 0
    assert "SEED=1234 task.json seed=1234" in body["log"]
    assert body["reproduced"] is None


def test_identical_inputs_reuse_a_finished_result(world, broker, tmp_path):
    version = upload(world.participant, world.challenge, "A")
    task = imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    (first,) = reruns(task)
    assert execute(first) == "succeeded"
    first.refresh_from_db()
    assert first.reused_from is None and first.cpu_seconds > 0
    with transaction.atomic():
        again = run_create(profile=BENCHMARK, version=version, task=task, audit=False)
    assert execute(again) == "succeeded"
    again.refresh_from_db()
    assert again.reused_from_id == first.pk and again.cpu_seconds is None
    assert again.scores == first.scores and again.predictions.name == first.predictions.name
    body = world.participant.api().get(f"/api/v1/algorithm-runs/{again.pk}/").json()
    assert body["manifest"]["reused_from"] == first.pk
    assert body["manifest"]["task_data_sha256"] == first.manifest["task_data_sha256"]
    # Another seed is another input: it runs.
    with transaction.atomic():
        seeded = run_create(profile=BENCHMARK, version=version, task=task, audit=False, seed=7)
    assert execute(seeded) == "succeeded"
    seeded.refresh_from_db()
    assert seeded.reused_from is None and seeded.cpu_seconds > 0


def test_a_sampled_run_is_reproduced_and_its_agreement_shown(world, broker, settings):
    settings.REPRODUCTION_SHARE = 1.0
    client = world.participant.api()
    version = upload(world.participant, world.challenge, "A")
    (run,) = queue(client, version.algorithm_id, tasks=[world.classification.slug]).json()["runs"]
    original = AlgorithmRun.objects.get(pk=run["id"])
    assert execute(original) == "succeeded"
    original.refresh_from_db()
    assert original.submission.status == "scored"  # in the run's worker
    assert benchmark_tick()["reproductions"] == 1
    assert benchmark_tick()["reproductions"] == 0  # once per run
    reproduction = AlgorithmRun.objects.get(reproduces=original)
    assert reproduction.profile == "reproduction" and reproduction.seed == original.seed
    assert reproduction.limits == original.limits
    assert execute(reproduction) == "succeeded"
    reproduction.refresh_from_db()
    assert reproduction.agreement == 1.0 and reproduction.submission is None
    body = client.get(f"/api/v1/algorithm-runs/{original.pk}/").json()
    # Both claimed by "test-node": the manifest says it ran where the original did.
    assert body["reproduced"] == {"run": reproduction.pk, "agreement": 1.0, "placement": SAME}
    # Not in the transfer matrix, not a submission.
    matrix = transfer_matrix(track=world.classification.track)
    assert reproduction.pk not in {r.pk for row in matrix.rows for r in row.runs if r}




def test_a_reproduction_waits_a_while_for_another_node_of_its_queue_then_runs_anyway(
    world, broker, settings
):
    """Only a live node that takes reproductions counts as "another worker": the baselines
    and scoring workers of the embedded default beat too, and ran runs (the baseline), but
    never take one; counting them left a reproduction refused by the one node that could
    run it (issue 50). A second algorithms node is preferred for
    ``REPRODUCTION_PREFER_OTHER_SECONDS``; then the first takes it too."""
    settings.REPRODUCTION_SHARE = 1.0
    version = upload(world.participant, world.challenge, "A")
    with transaction.atomic():
        original = run_create(
            profile=BENCHMARK, version=version, task=world.classification, audit=False
        )
    assert algorithm_run_execute(run_pk=original.pk, worker="algorithms@host-a") == "succeeded"
    # The node's sibling workers ran algorithm runs too (a baseline) and beat.
    beating(broker, "algorithms@host-a", ("algorithms",))
    beating(broker, "baselines@host-a", ("baselines",))
    beating(broker, "scoring@host-a", ("scoring", "notifications"))
    assert benchmark_tick()["reproductions"] == 1
    reproduction = AlgorithmRun.objects.get(reproduces=original)

    def next_for(node: str) -> list[int]:
        order = queued_in_claim_order(served=served_with(profile=REPRODUCTION), worker=node)
        return [run.pk for run in order]

    assert next_for("algorithms@host-a") == [reproduction.pk]  # alone on its queue: it may
    beating(broker, "algorithms@host-b", ("algorithms",))
    assert next_for("algorithms@host-a") == []  # another node takes reproductions now
    assert next_for("algorithms@host-b") == [reproduction.pk]
    # Never as long as half the republish bound (each refused doorbell is published again).
    assert prefer_other_seconds() == min(
        settings.REPRODUCTION_PREFER_OTHER_SECONDS,
        settings.JOB_REPUBLISH_SECONDS * settings.JOB_REPUBLISH_LIMIT / 4,
    )
    waited = timezone.now() - timedelta(seconds=prefer_other_seconds() + 1)
    AlgorithmRun.objects.filter(pk=reproduction.pk).update(status_changed_at=waited)
    assert next_for("algorithms@host-a") == [reproduction.pk]  # waited long enough: anyone

    assert algorithm_run_execute(run_pk=reproduction.pk, worker="algorithms@host-b") == (
        "succeeded"
    )
    reproduction.refresh_from_db()
    assert reproduction.manifest["reproduction"] == {
        "worker": "algorithms@host-b",
        "original_worker": "algorithms@host-a",
        "placement": "another_host",
    }


def test_the_sample_is_a_fixed_share():
    picked = sum(sampled_for_reproduction(pk=pk, share=0.1) for pk in range(1, 5001))
    assert 400 < picked < 600
    assert not any(sampled_for_reproduction(pk=pk, share=0.0) for pk in range(1, 100))
    assert all(sampled_for_reproduction(pk=pk, share=1.0) for pk in range(1, 100))


# --- hostile -----------------------------------------------------------------------------------


def test_a_rerun_is_never_on_a_ranked_board_before_the_end(world, broker, tmp_path):
    upload(world.participant, world.challenge, "A")
    task = imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    (rerun,) = reruns(task)
    assert execute(rerun) == "succeeded"
    rerun.refresh_from_db()
    assert rerun.submission is None and rerun.scores
    assert not LeaderboardEntry.objects.filter(task=task, team=world.participant.team).exists()
    board = world.participant.api().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    assert all(e.get("team") != world.participant.team.name for e in entries_of(board))
    # It is in the transfer matrix.
    matrix = transfer_matrix(track=task.track)
    assert rerun.pk in {r.pk for row in matrix.rows for r in row.runs if r}


def entries_of(board) -> list:
    return board.get("entries", board) if isinstance(board, dict) else board


def test_a_hidden_teams_run_manifest_is_not_shown_to_others(world, broker):
    version = upload(world.rival, world.challenge, "B")
    (run,) = queue(
        world.rival.api(), version.algorithm_id, tasks=[world.classification.slug]
    ).json()["runs"]
    assert execute(AlgorithmRun.objects.get(pk=run["id"])) == "succeeded"
    world.rival.team.is_hidden = True
    world.rival.team.save()
    other = world.participant.api().get(f"/api/v1/algorithm-runs/{run['id']}/")
    assert other.status_code == 404 and "manifest" not in other.json()
    assert api_client_for(None).get(f"/api/v1/algorithm-runs/{run['id']}/").status_code in (
        401,
        403,
    )


# --- the post-challenge benchmark --------------------------------------------------------------


def test_after_the_end_a_new_team_runs_into_the_post_challenge_board(world, broker):
    challenge = world.challenge
    challenge.end = timezone.now() - timedelta(minutes=5)
    challenge.start = challenge.end - timedelta(days=10)
    challenge.rules = "Post-challenge: results go to the benchmark boards only."
    challenge.save()
    frozen, _ = challenge_finish(challenge=Challenge.objects.get(pk=challenge.pk))
    # A newcomer accepts the rules and creates a team after the end, through the API.
    user = UserFactory(username="latecomer")
    client = api_client_for(user)
    refused = client.post(f"/api/v1/challenges/{challenge.slug}/teams/", {"name": "Late"})
    assert refused.status_code == 403 and refused.json()["code"] == "rules_not_accepted"
    accepted = client.post(
        f"/api/v1/challenges/{challenge.slug}/rules/accept/",
        {"version": challenge.rules_version},
        format="json",
    )
    assert accepted.status_code in (200, 201), accepted.json()
    created = client.post(f"/api/v1/challenges/{challenge.slug}/teams/", {"name": "Late"})
    assert created.status_code == 201, created.json()
    late = Participant(user=user, team=Team.objects.get(challenge=challenge, name="Late"))
    version = upload(late, challenge, "Late")
    admission = client.get(
        f"/api/v1/challenges/{challenge.slug}/algorithm-runs/admission/",
        {"tasks": world.classification.slug},
    )
    assert admission.status_code == 200, admission.json()
    (run,) = queue(client, version.algorithm_id, tasks=[world.classification.slug]).json()["runs"]
    assert execute(AlgorithmRun.objects.get(pk=run["id"])) == "succeeded"
    submission = AlgorithmRun.objects.get(pk=run["id"]).submission
    submission_score(submission_pk=submission.pk)
    rows = post_challenge_board(task=Task.objects.get(pk=world.classification.pk))
    assert [r.team for r in rows if not r.is_baseline] == [late.team]
    assert not LeaderboardEntry.objects.filter(team=late.team, is_baseline=False).exists()
    after = FinalStandings.objects.get(pk=frozen.pk)
    assert after.sha256 == frozen.sha256  # the frozen standings never change


def test_task_json_gets_the_seed(world, broker, tmp_path, settings):
    from algorithms.services.manifest import manifest_inputs
    from algorithms.services.taskfolder import task_folder_write

    version = upload(world.participant, world.challenge, "A")
    with transaction.atomic():
        run = run_create(profile=BENCHMARK, version=version, task=world.classification, seed=99)
    folder = task_folder_write(task=world.classification, folder=tmp_path / "task")
    inputs = manifest_inputs(run=run, task_dir=folder)
    assert json.loads((folder / "task.json").read_text())["seed"] == 99
    # The data hash is of what the algorithm sees, without the seed: a second folder agrees.
    again = task_folder_write(task=world.classification, folder=tmp_path / "again")
    again_inputs = manifest_inputs(run=run, task_dir=again)
    assert again_inputs["task_data_sha256"] == inputs["task_data_sha256"]


# --- the algorithm page ------------------------------------------------------------------------


def test_the_page_marks_versions_and_shows_a_runs_manifest(world, broker, client):
    version = upload(world.participant, world.challenge, "A")
    (run,) = queue(
        world.participant.api(), version.algorithm_id, tasks=[world.classification.slug]
    ).json()["runs"]
    assert execute(AlgorithmRun.objects.get(pk=run["id"])) == "succeeded"
    client.force_login(world.participant.user)
    page = f"/algorithms/{version.algorithm_id}/"
    html = client.get(page).content.decode()
    assert "in the benchmark" in html and 'data-role="mark-out"' in html
    manifest = AlgorithmRun.objects.get(pk=run["id"]).manifest
    assert manifest["task_data_sha256"] in html and manifest["runtime_lock_sha256"] in html
    mark = f"/algorithms/{version.algorithm_id}/versions/1/mark/"
    assert client.post(mark, {"benchmark": "out"}).status_code == 302
    version.refresh_from_db()
    assert version.in_benchmark is False
    assert "not in the benchmark" in client.get(page).content.decode()
    client.post(mark, {"final": "1"})
    version.refresh_from_db()
    assert version.is_final is True
    # Another team's member cannot mark it (the page says "not found").
    client.force_login(world.rival.user)
    assert client.post(mark, {"benchmark": "in"}).status_code == 404
    client.post(mark, {"benchmark": "nonsense"})
    version.refresh_from_db()
    assert version.in_benchmark is False


def test_the_console_shows_the_queue_and_the_budget(world, broker, tmp_path, client, settings):
    upload(world.participant, world.challenge, "A")
    imported_task(tmp_path, challenge=world.challenge, slug="later-task")
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 3
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    html = client.get("/admin/algorithms/algorithmrun/").content.decode()
    assert 'id="living-benchmark"' in html and "3.00 CPU-hours" in html
    row = html.split(f'data-challenge="{world.challenge.slug}"')[1].split("</tr>")[0]
    assert "<td>1</td><td>0</td><td>0</td><td>0</td>" in row  # pending, running, done, failed
