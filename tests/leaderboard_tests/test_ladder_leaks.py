"""Nothing a ladder board hides reaches a participant (docs/organizers/ladder.md, "Where a public
score is shown"): every page, API answer and export the platform routes, every webhook body and
every mail it queued, read as an anonymous visitor, as the team and as another team, holds none of
the exact public figures of the teams' entries (their metrics, their flips against the reference,
their differences to it), in any of the forms a page writes a number in.

The places are not listed by hand: every route of the URL configuration is requested with
its parameters filled from the world below (a route this test cannot fill fails it, so a new
route is either enumerated or named here). A team's algorithm made one of the entries, so the
track's transfer matrix (page, API, results exports) has a cell of a team's method on the
ladder task. The release check, a POST, refuses participants (409 ``ladder_board``) and
answers organizers. A team's entry passes the champion gate on the public split: no reader
but an organizer meets that crowning (a gate step of a team's entry, a verdict on one) on
any route, webhook or mail before the reveal (issue 64).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import Algorithm, AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.builtin import baseline_team_get_or_create
from datasets.models import Task
from leaderboard.champion.services import champion_check_run, champion_ensure
from leaderboard.models import (
    ChampionChange,
    ChampionCheck,
    ChampionCheckStatus,
    LadderStep,
    ReleaseCheckUse,
)
from notifications.models import MailDelivery, Webhook, WebhookDelivery
from scoring.models import Submission
from standings.services import challenge_finish
from tests.leaderboard_tests.ladder_world import number_forms, random_label_task, upload
from tests.scoring_tests.factories import ChallengeFactory, api_client_for, make_participant

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC_ROWS = 331  # a prime: exact scores k / 331 have many digits, easy to tell apart

# Routes that show no result of a task, or that this test cannot request as a reader
# (a route not named here and not filled below fails the test).
NOT_RESULTS = {
    "healthz", "favicon", "login", "logout", "account_login", "account_logout",
    "account_signup", "account_inactive", "account_email_verification_sent",
    "account_confirm_email", "account_reset_password", "account_reset_password_done",
    "account_reset_password_from_key", "account_reset_password_from_key_done",
    "socialaccount_login_cancelled", "socialaccount_login_error", "socialaccount_signup",
    "openid_connect_login", "openid_connect_callback", "api-token", "team-join-code",
    "unsubscribe", "api-schema", "api-docs",
}  # fmt: skip


def _routes(patterns=None, prefix: str = "", namespace: str = ""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            if str(p.pattern).startswith("admin"):
                continue  # the organizers' console
            space = f"{namespace}:{p.namespace}" if p.namespace else namespace
            yield from _routes(p.url_patterns, prefix + str(p.pattern), space)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name or ""


def _fill(route: str, world: dict) -> list[str]:
    """The paths of ``route`` with its parameters filled from ``world`` ([] when it takes a
    parameter no reader has)."""
    parts = re.findall(r"<(?:\w+:)?(\w+)>", route)
    paths = ["/" + route]
    for name in parts:
        before = route.split("<")[0]
        if name == "slug":
            if before.endswith(("tracks/",)):
                values = [world["track"]]
            elif before.endswith(("challenges/", "c/")):
                values = [world["challenge"]]
            else:
                values = [world["task"]]
        elif name == "pk":
            if "submissions/" in route.split("<pk>")[0] or route.startswith("submissions"):
                values = [str(pk) for pk in world["submissions"]]
            elif "teams" in route:
                values = [str(world["team"]), str(world["other_team"])]
            else:
                values = ["999999"]  # algorithms and runs: none here (404)
        elif name == "name":
            values = ["train.csv"]
        elif name == "number":
            values = ["1"]
        else:
            return []
        paths = [re.sub(r"<(?:\w+:)?" + name + ">", v, p, count=1) for p in paths for v in values]
    return paths


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:4] == b"PAR1":  # Parquet: every cell as text
        table = pq.read_table(io.BytesIO(body))
        return repr(table.to_pylist())
    return body.decode("utf-8", errors="replace")


@pytest.fixture
def world(tmp_path: Path, redis_server, django_capture_on_commit_callbacks, settings, request):
    mode = getattr(request, "param", "ladder")
    settings.TEAM_UPLOAD_RATE = "0"
    challenge = ChallengeFactory(slug="leak-cup", daily_submission_limit=100)
    planted = random_label_task(
        tmp_path, challenge="leak-cup", slug="leaky", rows=2 * PUBLIC_ROWS + 2, mode=mode,
        public_fraction=PUBLIC_ROWS / (2 * PUBLIC_ROWS + 2),
    )  # fmt: skip
    task = planted.task
    Webhook.objects.create(challenge=challenge, url="https://hooks.example.com/x", secret="s")
    ours = make_participant(challenge, name="ours")
    theirs = make_participant(challenge, name="theirs")
    baseline = baseline_team_get_or_create(challenge=challenge)
    rng = np.random.default_rng(7)

    def labels(right: float) -> np.ndarray:
        wrong = np.where(planted.truth == "0", "1", "0")
        return np.where(rng.random(planted.truth.size) < right, planted.truth, wrong)

    plan = [  # (team, share right): climbs, not better enough, climbs, worse; another team
        (ours, 0.7), (ours, 0.705), (ours, None), (ours, 0.88), (theirs, 0.8), (theirs, 0.81),
    ]  # fmt: skip
    reference_values = labels(0.6)
    # The third: the reference with three in four of its wrong rows fixed, none broken: it
    # passes the champion gate (a difference on the champion's timeline).
    fixed = np.where(rng.random(planted.truth.size) < 0.75, planted.truth, reference_values)
    values = [fixed if right is None else labels(right) for _, right in plan]
    with django_capture_on_commit_callbacks(execute=True):
        upload(planted, baseline, reference_values, tmp_path, "baseline")
        champion_ensure(task=task)
        entries = [
            upload(planted, who.team, v, tmp_path, f"e{i}")
            for i, ((who, _), v) in enumerate(zip(plan, values, strict=True))
        ]
        for check in ChampionCheck.objects.filter(status=ChampionCheckStatus.QUEUED):
            champion_check_run(check_pk=check.pk)
        # The final standings frozen, not revealed: what the public reads of them is the
        # public split's boards (forced before the end: every entry counts).
        challenge_finish(challenge=challenge, force=True)
    # The team's method made its first entry: the transfer matrix's cell on the ladder task.
    algorithm = Algorithm.objects.create(challenge=challenge, team=ours.team, name="ours-method")
    version = AlgorithmVersion.objects.create(
        algorithm=algorithm, number=1, archive="x.zip", archive_sha256="0" * 64
    )
    AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=entries[0],
        cpu_seconds=12.0,
        finished_at=timezone.now(),
    )
    steps = {s.submission_id: s for s in LadderStep.objects.filter(task=task)}
    if mode == "ladder":
        assert [steps[e.pk].climbed for e in entries[:4]] == [True, False, True, False]
    hidden = set()
    reference = Submission.objects.get(team=baseline, task=task)
    public = planted.public
    reference_right = reference_values[public] == planted.truth[public]
    for entry, v in zip(entries, values, strict=True):
        entry.refresh_from_db()
        for value in entry.scores["public"].values():
            if value is not None:
                hidden.update(number_forms(value))
        # what a gate or a flip column would show against the reference
        hidden.update(number_forms(entry.public_score - reference.public_score))
        right = v[public] == planted.truth[public]
        hidden.update(number_forms(float(np.mean(reference_right & ~right))))  # NFR
        hidden.update(number_forms(float(np.mean(right & ~reference_right))))  # PFR
    # (A shown score of the ladder has two decimals here: never one of these forms.)
    return {
        "planted": planted,
        "task": task.slug,
        "track": task.track.slug,
        "challenge": challenge.slug,
        "submissions": [e.pk for e in entries],
        "team": ours.team.pk,
        "other_team": theirs.team.pk,
        "ours": ours,
        "theirs": theirs,
        "hidden": hidden,
        "entries": entries,
        "values": values,
    }


def _leaks(text: str, hidden: set[str]) -> list[str]:
    return sorted(h for h in hidden if h in text)


def _readers(world) -> dict:
    readers = {"anonymous": Client()}
    for name in ("ours", "theirs"):
        client = Client()
        client.force_login(world[name].user)
        readers[name] = client
        readers[f"{name} (token)"] = api_client_for(world[name].user)
    return readers


def _every_route(world):
    """(reader, path, response text) of every route, filled (see the module docstring)."""
    readers = _readers(world)
    unfilled = []
    for route, name in _routes():
        if name in NOT_RESULTS:
            continue
        paths = _fill(route, world)
        if not paths:
            unfilled.append(route)
            continue
        for path in paths:
            for query in ("", "?split=public"):
                for who, client in readers.items():
                    response = client.get(path + query)
                    if response.status_code >= 500:
                        raise AssertionError(f"{who} {path}{query}: {response.status_code}")
                    yield who, path + query, _text(response)
    assert not unfilled, f"routes this test cannot request: {unfilled}"


# How a crowning by the gate reads: a timeline step (page, API, webhook) and a verdict row.
CROWNING = (
    'data-by="gate"', '"by": "gate"', '"by":"gate"', 'data-verdict="yes"', 'data-verdict="no"',
    'data-verdict="cannot_tell"', 'data-verdict="champion"',
)  # fmt: skip


def test_no_route_shows_an_exact_public_figure_a_ladder_board_hides(world):
    requested = 0
    crowned = ChampionChange.objects.filter(by="gate", team__is_baseline=False)
    assert crowned.exists()  # the third entry passed the gate: there is a crowning to hide
    for who, path, text in _every_route(world):
        found = _leaks(text, world["hidden"]) + [c for c in CROWNING if c in text]
        assert not found, f"{who} reads {found} at {path}"
        requested += 1
    assert requested > 300


@pytest.mark.parametrize("world", ["plain"], indirect=True)
def test_on_a_plain_board_the_same_routes_show_them(world):
    """The control: the enumeration reaches the pages that show scores, and the figures
    looked for are the ones they show."""
    where = {path for who, path, text in _every_route(world) if _leaks(text, world["hidden"])}
    task = world["task"]
    for expected in (
        f"/api/v1/tasks/{task}/leaderboard/",
        f"/tasks/{task}/leaderboard/",
        f"/tasks/{task}/leaderboard.csv",
        f"/api/v1/submissions/{world['submissions'][1]}/",
        f"/submissions/{world['submissions'][1]}/",
        f"/api/v1/tasks/{task}/champion/",
        f"/api/v1/tracks/{world['track']}/transfer/",
        f"/tracks/{world['track']}/transfer/",
        f"/api/v1/tracks/{world['track']}/results.parquet",
        f"/api/v1/challenges/{world['challenge']}/standings/",
    ):
        assert expected in where, (expected, sorted(where))


def test_webhooks_and_mails_hold_no_hidden_figure(world):
    bodies = list(WebhookDelivery.objects.values_list("body", flat=True))
    mails = [f"{m.subject}\n{m.body}" for m in MailDelivery.objects.all()]
    assert bodies and any("climbed" in m or "not better" in m for m in mails)
    for text in [*bodies, *mails]:
        assert not _leaks(text, world["hidden"]), text
        assert "new champion" not in text or "ours" not in text, text  # no crowning told


def _release_check(world, client, **data):
    return client.post(
        f"/api/v1/tasks/{world['task']}/release-check/",
        data,
        format="multipart" if "file" in data else "json",
    )


def test_the_release_check_refuses_participants_on_a_ladder_board(world, tmp_path):
    """A participant's release check on a ladder task before the reveal: 409 ``ladder_board``
    for a submission and for a file, as the team and as another team, with nothing spent
    (the day's budget and the upload rate untouched); anonymous: refused too."""
    path = tmp_path / "again.csv"
    world["planted"].frame(world["values"][3]).to_csv(path, index=False)
    for name in ("ours", "theirs"):
        client = api_client_for(world[name].user)
        answers = [_release_check(world, client, submission=world["submissions"][1])]
        with path.open("rb") as handle:
            answers.append(_release_check(world, client, file=handle))
        for response in answers:  # (another team's submission: refused before it is read)
            assert response.status_code == 409, (name, response.content)
            body = response.json()
            assert body["code"] == "ladder_board", body
            assert "ladder" in body["detail"] and "reveal" in body["detail"]
            assert not _leaks(response.content.decode(), world["hidden"])
    assert not ReleaseCheckUse.objects.exists()
    anonymous = _release_check(world, APIClient(), submission=world["submissions"][1])
    assert anonymous.status_code in (401, 403), anonymous.content


def test_no_crowning_of_a_participants_entry_before_the_reveal(world, django_user_model):
    """The third entry passed the gate on the public split: the champion API and the task
    page name no champion to participants and anonymous readers (``withheld`` says why),
    leave the step out of the timeline and show no verdict on a team's entry; organizers
    read all of it."""
    task = world["task"]
    for who, client in _readers(world).items():
        body = client.get(f"/api/v1/tasks/{task}/champion/").json()
        assert body["entry"] is None and body["team"] is None, (who, body)
        assert "ladder" in body["withheld"], (who, body)
        assert all(step["by"] != "gate" for step in body["history"]), (who, body)
        page = client.get(f"/tasks/{task}/").content.decode()
        assert 'id="champion-withheld"' in page, who
        assert 'data-role="champion-verdicts"' not in page or 'data-verdict="withheld"' in page
    organizer = django_user_model.objects.create_user("org2", is_staff=True, is_superuser=True)
    body = api_client_for(organizer).get(f"/api/v1/tasks/{task}/champion/").json()
    crowned = ChampionChange.objects.get(by="gate", team__is_baseline=False)
    assert body["withheld"] is None and body["team"] == crowned.team.name, body
    assert any(step["by"] == "gate" for step in body["history"])


def test_organizers_read_the_release_checks_figures(world, django_user_model):
    organizer = django_user_model.objects.create_user("org", is_staff=True, is_superuser=True)
    response = _release_check(
        world, api_client_for(organizer), submission=world["submissions"][3]
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["withheld"] is None and body["difference"] is not None and body["mcnemar"]


def test_the_tasks_owners_read_the_release_checks_figures(world, tmp_path):
    """A member of the team that owns the laddered task is not refused (no 409): answered as
    before issue 64, with the verdict and rule; the figures against the champion stay
    withheld on the public split, since the champion is a team's entry whose exact public
    score its difference would give away (organizers read them:
    ``test_organizers_read_the_release_checks_figures``)."""
    task = Task.objects.get(slug=world["task"])
    owner = make_participant(task.track.challenge, name="owners")
    task.owner_team = owner.team
    task.save(update_fields=["owner_team"])
    path = tmp_path / "owned.csv"
    world["planted"].frame(world["values"][3]).to_csv(path, index=False)
    with path.open("rb") as handle:
        response = _release_check(world, api_client_for(owner.user), file=handle)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"] and body["split"] == "public", body
    assert "ladder" in body["withheld"] and body["difference"] is None, body
    assert body["mcnemar"] is None and body["broken_ids"] == [], body
    assert not _leaks(response.content.decode(), world["hidden"])
    assert ReleaseCheckUse.objects.filter(team=owner.team).exists()  # counted as any check
    task.owner_team = None
    task.save(update_fields=["owner_team"])
    with path.open("rb") as handle:  # the same member once the team no longer owns the task
        refused = _release_check(world, api_client_for(owner.user), file=handle)
    assert refused.status_code == 409 and refused.json()["code"] == "ladder_board"


def test_the_transfer_matrix_keeps_the_cells_status_without_their_figures(world):
    for who, client in _readers(world).items():
        response = client.get(f"/api/v1/tracks/{world['track']}/transfer/")
        assert response.status_code == 200, (who, response.content)
        body = response.json()
        assert body["withheld"]["tasks"] == [world["task"]], who
        [cell] = body["cells"]  # the team's method on the ladder task
        assert cell["status"] == "succeeded" and cell["task"] == world["task"], who
        assert cell["score"] is None and cell["delta"] is None and cell["ci"] is None
        assert "ladder" in cell["reason"], cell
        assert body["algorithms"][0]["mean_score"] is None
        difficulty = body["decomposition"]["task_difficulty"]
        assert all(d["effect"] is None and "ladder" in d["reason"] for d in difficulty)
        page = client.get(f"/tracks/{world['track']}/transfer/")
        assert page.status_code == 200
        assert "hidden until the reveal" in page.content.decode()


def _track_csv_firsts(text: str) -> list[list[str]]:
    import csv

    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, text
    return [[row[c] for c in ("p_first", "rank_interval_low", "group")] for row in rows]


def test_track_boards_hold_no_figure_resampled_from_the_exact_rows(world, django_user_model):
    """A track with a laddered task: its board's P(first), rank intervals, groups and pairwise
    verdicts resample the exact public rows, so the API, the page, the CSV and the frozen
    standings' public view give none of them to anonymous readers, the team or another team
    (the reason instead); an organizer reads them on the live board (its own payload, never
    the participants' cached one, nor theirs the organizer's)."""
    track = world["track"]
    api = f"/api/v1/tracks/{track}/leaderboard/"
    for who, client in _readers(world).items():
        for query in ("", "?split=public"):
            body = client.get(api + query).json()
            assert body["entries"], (who, body)
            for entry in body["entries"]:
                assert entry["p_first"] is None and entry["rank_interval"] is None, (who, entry)
                assert entry["group"] is None and entry["p_first_mc_error"] is None
            assert body["pairwise"] == [] and "ladder" in body["group_reason"], (who, body)
        page = client.get(f"/tracks/{track}/").content.decode()
        assert 'id="group-reason"' in page and "ladder board" in page, who
        assert "<svg" not in page.split('id="group-reason"')[1], who  # no CD diagram
        csv_text = _text(client.get(f"/tracks/{track}/leaderboard.csv"))
        assert all(cells == ["", "", ""] for cells in _track_csv_firsts(csv_text)), who
        standings = client.get(f"/api/v1/challenges/{world['challenge']}/standings/").json()
        [board] = [t for t in standings["tracks"] if t["track"] == track]
        assert all(e["p_first"] is None for e in board["entries"]), (who, board)
        assert board["pairwise"] == [] and "ladder" in board["group_reason"], who
    organizer = django_user_model.objects.create_user("org3", is_staff=True, is_superuser=True)
    body = api_client_for(organizer).get(api).json()
    assert any(e["p_first"] is not None for e in body["entries"]), body
    assert body["group_reason"] is None or "ladder" not in body["group_reason"], body
    staff = Client()
    staff.force_login(organizer)
    csv_text = _text(staff.get(f"/tracks/{track}/leaderboard.csv"))
    assert any(cells[0] for cells in _track_csv_firsts(csv_text))
    again = Client().get(api).json()  # after the organizer's: still the withheld payload
    assert all(e["p_first"] is None for e in again["entries"])
