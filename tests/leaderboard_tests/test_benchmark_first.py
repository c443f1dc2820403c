"""Who is first (docs/architecture.md §12) on the track boards, the track standings API,
the frozen standings and the winners page: the core's numbers on the boards' own submissions, never
a private-based value before the reveal, co-winners by the challenge's setting."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from common.numbers import number_text
from leaderboard.core.benchmark.first import TrackTaskScores, who_is_first
from leaderboard.core.bootstrap import bootstrap_leaderboard
from leaderboard.models import LeaderboardEntry
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.core import load_predictions
from scoring.models import Reference, ReferenceSource
from scoring.services.references import reference_trivial_ensure
from scoring.solutions import solution_for_task
from standings.services import challenge_finish
from tests.scoring_tests.factories import api_client_for

from .benchmark_world import bench_world

pytestmark = pytest.mark.django_db

# owls and crows alike, hawks far behind: owls and crows cannot be separated
CLOSE = {
    "owls": {"t-one": 0.20, "t-two": 0.20, "t-three": 0.20},
    "crows": {"t-one": 0.21, "t-two": 0.19, "t-three": 0.20},
    "hawks": {"t-one": 0.60, "t-two": 0.55, "t-three": 0.60},
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _board(client, world, split="public"):
    return client.get(f"/api/v1/tracks/{world.track.slug}/leaderboard/?split={split}")


def _core(world, team_ids, split, alpha=0.05):
    """who_is_first fed independently: each board entry's file bootstrapped per task."""
    tasks = []
    for task in world.tasks.values():
        entries = {
            e.team_id: e
            for e in LeaderboardEntry.objects.filter(task=task, split=split).select_related(
                "submission"
            )
        }
        solution = solution_for_task(task=task)
        public = np.asarray(solution.is_public, dtype=bool)
        preds = []
        for team in team_ids:
            with entries[team].submission.predictions.open("rb") as handle:
                preds.append(np.asarray(load_predictions(handle.read()).pred))
        result = bootstrap_leaderboard(
            y=np.asarray(solution.y),
            preds=preds,
            kind=task.kind,
            rows=public if split == "public" else ~public,
            keep_samples=True,
        )
        tasks.append(
            TrackTaskScores(
                task=task.slug,
                point=np.array([entries[t].score for t in team_ids]),
                resamples=result.samples,  # float64, as the boards keep them
            )
        )
    baseline = [t for t in team_ids if entries[t].is_baseline]
    return who_is_first(teams=team_ids, tasks=tasks, references=baseline, alpha=alpha)


def test_track_api_gains_p_first_rank_interval_and_group_as_the_core_says(tmp_path):
    world = bench_world(tmp_path)
    body = _board(APIClient(), world).json()
    entries = body["entries"]
    for e in entries:
        assert {"p_first", "rank_interval", "group"} <= set(e)
    ranked = [e for e in entries if not e["is_baseline"]]
    baseline = [e for e in entries if e["is_baseline"]]
    assert baseline and all(
        (e["p_first"], e["rank_interval"], e["group"]) == (None, None, None) for e in baseline
    )
    assert sum(e["p_first"] for e in ranked) == pytest.approx(1.0)
    core = _core(world, [e["team_id"] for e in entries], "public")
    by_team = {c.team: c for c in core.entries}
    for e in ranked:
        c = by_team[e["team_id"]]
        assert e["p_first"] == pytest.approx(c.p_first, abs=1e-9)
        assert e["rank_interval"] == list(c.rank_interval)
        assert e["group"] == c.group
    # owls are clearly first on the public rows
    assert ranked[0]["team"] == "owls" and ranked[0]["group"] == 1


def test_track_page_shows_the_column(tmp_path):
    world = bench_world(tmp_path)
    api = _board(APIClient(), world).json()
    page = Client().get(f"/tracks/{world.track.slug}/").content.decode()
    assert "P(first)" in page and 'data-role="p-first"' in page
    owls = next(e for e in api["entries"] if e["team"] == "owls")
    assert f">{number_text(owls['p_first'], 3)}</span>" in page


def test_private_p_first_never_reaches_a_participant_before_the_reveal(tmp_path):
    world = bench_world(tmp_path, wrong=CLOSE)
    organizer = api_client_for(get_user_model().objects.create_user("org", is_staff=True))
    participant = api_client_for(world.users["owls"])
    private = _board(organizer, world, "private").json()["entries"]
    public = _board(participant, world).json()["entries"]
    assert _board(participant, world, "private").status_code == 403
    private_values = {e["team"]: e["p_first"] for e in private if not e["is_baseline"]}
    public_values = {e["team"]: e["p_first"] for e in public if not e["is_baseline"]}
    assert private_values != public_values  # two different sets of rows
    core_public = _core(world, [e["team_id"] for e in public], "public")
    for e in public:
        if not e["is_baseline"]:
            match = next(c for c in core_public.entries if c.team == e["team_id"])
            assert e["p_first"] == pytest.approx(match.p_first, abs=1e-9)
    page = Client()
    page.force_login(world.users["owls"])
    html = page.get(f"/tracks/{world.track.slug}/").content.decode()
    for team, value in private_values.items():
        if value != public_values[team]:
            assert f">{number_text(value, 3)} " not in html
    assert page.get(f"/tracks/{world.track.slug}/?split=private").status_code == 404

    # the frozen standings: the sealed view holds the public values, the snapshot its own
    challenge_finish(challenge=world.challenge, force=True)
    sealed = participant.get(f"/api/v1/challenges/{world.challenge.slug}/standings/").json()
    assert sealed["revealed"] is False
    (track,) = sealed["tracks"]
    sealed_values = {e["team"]: e["p_first"] for e in track["entries"] if not e["is_baseline"]}
    assert sealed_values == pytest.approx(public_values)
    world.challenge.private_revealed = True
    world.challenge.save(update_fields=["private_revealed"])
    cache.clear()
    revealed = participant.get(f"/api/v1/challenges/{world.challenge.slug}/standings/").json()
    (track,) = revealed["tracks"]
    assert revealed["revealed"] is True
    for e in track["entries"]:
        assert {"p_first", "rank_interval", "group"} <= set(e)
    snapshot_values = {e["team"]: e["p_first"] for e in track["entries"] if not e["is_baseline"]}
    assert snapshot_values == pytest.approx(private_values)
    assert _board(participant, world, "private").json()["entries"] == private


def _winners(world, user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(f"/tracks/{world.track.slug}/winners/").content.decode()


def _trivial_baselines(world) -> None:
    for task in world.tasks.values():
        assert reference_trivial_ensure(task=task) is not None


def test_winners_page_names_co_winners_after_the_reveal_only(tmp_path):
    world = bench_world(tmp_path, wrong=CLOSE)
    _trivial_baselines(world)
    challenge_finish(challenge=world.challenge, force=True)
    before = _winners(world, world.users["hawks"])
    assert 'id="cowinners"' not in before and 'id="sealed"' in before
    world.challenge.private_revealed = True
    world.challenge.save(update_fields=["private_revealed"])

    snapshot = APIClient().get(f"/api/v1/challenges/{world.challenge.slug}/standings/").json()
    (track,) = snapshot["tracks"]
    ranked = sorted((e for e in track["entries"] if e["rank"]), key=lambda e: e["rank"])
    first_group = [e["team"] for e in ranked if e["group"] == 1]
    assert len(first_group) >= 2, "the world's owls and crows are meant to be inseparable"
    assert "hawks" not in first_group

    shown = _winners(world)  # the default: show, do not decide
    assert world.challenge.cowinners == "show"
    assert 'id="cowinners"' in shown and "cannot be separated from #1" in shown
    for team in first_group[1:]:
        assert f'data-role="cowinner" data-team="{team}"' in shown
    assert f'data-role="cowinner" data-team="{first_group[0]}"' not in shown
    assert 'data-role="shares-first"' not in shown
    assert track["trivial_reference"]["tasks"] == 3
    assert "beats the trivial baseline" in shown  # why each one is a co-winner

    world.challenge.cowinners = "decide"
    world.challenge.save(update_fields=["cowinners"])
    decided = _winners(world)
    assert 'id="cowinners"' not in decided
    assert decided.count('data-role="shares-first"') == len(first_group)

    world.challenge.cowinners = "off"
    world.challenge.save(update_fields=["cowinners"])
    off = _winners(world)
    assert 'id="cowinners"' not in off and 'data-role="shares-first"' not in off


def test_a_team_that_does_not_beat_the_trivial_baseline_is_no_co_winner(tmp_path):
    # The regression track: a team "cannot be separated from #1" while its track
    # mean is no better than predicting the majority class. Here the trivial baseline is
    # made as good as the leader (its stored private scores raised), so neither the
    # inseparable second team nor anyone else beats it.
    world = bench_world(tmp_path, wrong=CLOSE)
    _trivial_baselines(world)
    Reference.objects.filter(source=ReferenceSource.TRIVIAL).update(private_score=0.99)
    challenge_finish(challenge=world.challenge, force=True)
    world.challenge.private_revealed = True
    world.challenge.save(update_fields=["private_revealed"])
    snapshot = APIClient().get(f"/api/v1/challenges/{world.challenge.slug}/standings/").json()
    (track,) = snapshot["tracks"]
    assert track["trivial_reference"]["score"] == pytest.approx(0.99)
    second = next(e for e in track["entries"] if e["rank"] == 2)
    assert second["group"] == 1

    page = _winners(world)
    assert 'id="cowinners"' not in page
    assert f'data-role="not-cowinner" data-team="{second["team"]}"' in page
    assert "does not beat the trivial baseline" in page and "0.9900" in page

    world.challenge.cowinners = "decide"
    world.challenge.save(update_fields=["cowinners"])
    decided = _winners(world)
    assert 'data-role="shares-first"' not in decided  # the winner by rank shares nothing


def test_confidence_level_is_the_challenges(tmp_path):
    world = bench_world(tmp_path, wrong=CLOSE)
    world.challenge.confidence_level = 0.5
    world.challenge.save(update_fields=["confidence_level"])
    entries = _board(APIClient(), world).json()["entries"]
    core = _core(world, [e["team_id"] for e in entries], "public", alpha=0.5)
    by_team = {c.team: c for c in core.entries}
    for e in entries:
        if not e["is_baseline"]:
            assert e["rank_interval"] == list(by_team[e["team_id"]].rank_interval)
            assert e["group"] == by_team[e["team_id"]].group


def test_the_bootstrap_job_keeps_the_resamples_the_boards_read(tmp_path, monkeypatch):
    world = bench_world(tmp_path)
    cold = _board(APIClient(), world).json()["entries"]
    cache.clear()
    for task in world.tasks.values():
        leaderboard_bootstrap_compute(task_id=task.pk)

    def refuse(**_):
        raise AssertionError("recomputed: the job's resamples were not kept")

    monkeypatch.setattr("leaderboard.statistics.first_samples.bootstrap_leaderboard", refuse)
    warm = _board(APIClient(), world).json()["entries"]
    assert [(e["team"], e["p_first"], e["rank_interval"], e["group"]) for e in warm] == [
        (e["team"], e["p_first"], e["rank_interval"], e["group"]) for e in cold
    ]


def test_an_unreadable_prediction_file_costs_its_row_noise_not_the_board(tmp_path):
    world = bench_world(tmp_path)
    entry = LeaderboardEntry.objects.select_related("submission").get(
        task=world.tasks["t-one"], split="public", team=world.teams["crows"]
    )
    with open(entry.submission.predictions.path, "wb") as handle:
        handle.write(b"PAR1\x00not parquet at all")
    response = _board(APIClient(), world)
    assert response.status_code == 200
    ranked = [e for e in response.json()["entries"] if not e["is_baseline"]]
    assert all(e["p_first"] is not None for e in ranked)
    assert sum(e["p_first"] for e in ranked) == pytest.approx(1.0)
    page = Client().get(f"/tracks/{world.track.slug}/")
    assert page.status_code == 200


def test_track_csv_carries_p_first_rank_interval_and_group_as_the_api(tmp_path):
    world = bench_world(tmp_path)
    api = {e["team"]: e for e in _board(APIClient(), world).json()["entries"]}
    response = Client().get(f"/tracks/{world.track.slug}/leaderboard.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0])[-4:] == ["p_first", "rank_interval_low", "rank_interval_high", "group"]
    assert {row["team"] for row in rows} == set(api)
    for row in rows:
        entry = api[row["team"]]
        if entry["is_baseline"]:
            assert (row["p_first"], row["rank_interval_low"], row["group"]) == ("", "", "")
            continue
        assert float(row["p_first"]) == pytest.approx(entry["p_first"])
        lo, hi = entry["rank_interval"]
        assert (int(row["rank_interval_low"]), int(row["rank_interval_high"])) == (lo, hi)
        assert int(row["group"]) == entry["group"]


def test_task_csv_carries_the_cpu_seconds_of_the_runs_behind_the_entries(tmp_path):
    world = bench_world(tmp_path)
    task = world.tasks["t-one"]
    api = {
        e["team"]: e
        for e in APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()["entries"]
    }
    response = Client().get(f"/tasks/{task.slug}/leaderboard.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0])[-1] == "cpu_seconds"
    assert any(e["cpu_seconds"] is not None for e in api.values())
    for row in rows:
        expected = api[row["team"]]["cpu_seconds"]
        if expected is None:
            assert row["cpu_seconds"] == ""
        else:
            assert float(row["cpu_seconds"]) == pytest.approx(expected)


def test_a_new_file_on_the_board_is_resampled_alone_with_the_values_of_the_whole_board(
    tmp_path, monkeypatch
):
    """Who is first after a new best file resamples that file only (a track's render in a
    rush), and every entry's values are those of resampling the whole board at once (the
    same rows and seed for every entry: a paired bootstrap)."""
    from leaderboard.statistics import first_samples

    world = bench_world(tmp_path)
    task = world.tasks["t-one"]
    files = {
        e.team_id: e.submission
        for e in LeaderboardEntry.objects.filter(task=task, split="public").select_related(
            "submission"
        )
    }
    whole = first_samples.task_samples(task=task, split="public", submissions=files)
    cache.clear()
    newest = next(iter(files))
    first_samples.task_samples(
        task=task, split="public", submissions={t: s for t, s in files.items() if t != newest}
    )
    resampled: list[int] = []
    real = first_samples.bootstrap_leaderboard

    def counted(**kwargs):
        resampled.append(len(kwargs["preds"]))
        return real(**kwargs)

    monkeypatch.setattr("leaderboard.statistics.first_samples.bootstrap_leaderboard", counted)
    after = first_samples.task_samples(task=task, split="public", submissions=files)
    assert resampled == [1]  # the new file alone
    assert set(after) == set(whole) and len(whole) == len(files) > 2
    for team, values in whole.items():
        np.testing.assert_array_equal(after[team], values)
    assert first_samples.task_samples(
        task=task, split="public", submissions=files
    ) is not None and resampled == [1]
