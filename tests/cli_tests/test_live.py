"""``chal`` against a live server started by the test (real HTTP on localhost).

Uploads publish to the session's real Redis; the ``--wait`` test also starts a real Celery
worker process, which scores against the test database.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests
from knox.auth import TokenAuthentication
from knox.models import AuthToken

from chal_client.output import _text
from datasets.services import task_import
from leaderboard.models import LeaderboardEntry
from leaderboard.refresh import task_leaderboard_refresh
from scoring.models import Submission
from testkit.bundles import write_regression_bundle
from tests.challenges_tests.factories import PASSWORD, TeamFactory, UserFactory, api_key
from tests.leaderboard_tests.factories import make_team, scored
from tests.scoring_tests.factories import (
    csv_bytes,
    predictions_frame,
    sklearn_scores,
    solution_frame,
)

FILES = {
    "csv": ("train.csv", "test.csv"),
    "parquet": ("train.parquet", "test.parquet"),
}


def test_login_saves_a_private_token_and_a_bad_password_is_refused(
    chal, world, config_file, monkeypatch
):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "wrong password")
    refused = chal("login", "--server", world.url, "--username", "alice")
    assert refused.code == 1
    assert refused.err == "error: login refused: Unable to log in with provided credentials.\n"
    assert not config_file.exists()

    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    ok = chal("login", "--server", world.url, "--username", "alice")
    assert ok.code == 0, ok.err
    assert ok.out == f"Logged in to {world.url} as alice; token saved to {config_file}.\n"
    saved = json.loads(config_file.read_text())
    assert set(saved) == {"server", "token"} and saved["server"] == world.url
    # The saved key is alice's one token; the server keeps only its digest.
    user, token = TokenAuthentication().authenticate_credentials(saved["token"].encode())
    assert user == world.alice and list(AuthToken.objects.filter(user=world.alice)) == [token]
    assert saved["token"] not in {t.digest for t in AuthToken.objects.all()}
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600

    # A pasted token is checked before it is saved.
    bad = chal("login", "--server", world.url, "--token", "not-a-token")
    assert (bad.code, bad.err) == (
        1,
        f"error: the server at {world.url} does not accept this token\n",
    )
    bob_key = api_key(world.bob)
    pasted = chal("login", "--server", world.url, "--token", bob_key)
    assert pasted.code == 0, pasted.err
    assert json.loads(config_file.read_text())["token"] == bob_key

    # The saved server is used from now on; a revoked token reads as "log in again".
    AuthToken.objects.filter(user=world.bob).delete()
    stale = chal("submissions")
    assert (stale.code, stale.err) == (
        1,
        "error: not logged in or token invalid: run `chal login`\n",
    )


def test_tasks_are_listed_as_a_table_and_filtered_by_challenge(chal, world):
    result = chal("tasks", "--server", world.url)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["task", "kind", "metric", "train", "rows", "test", "rows", "track"]
    assert lines[2].split() == [
        "cli-birds",
        "classification",
        "accuracy",
        "60",
        "30",
        "cli-classification",
    ]
    assert lines[3].split() == ["cli-pairs", "matching", "f1", "60", "30", "cli-matching"]

    assert chal("tasks", "--server", world.url, "--challenge", "cli-cup").out == result.out
    unknown = chal("tasks", "--server", world.url, "--challenge", "nope")
    assert (unknown.code, unknown.err) == (
        1,
        "error: there is no challenge 'nope' (chal tasks lists them all)\n",
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_download_writes_exactly_what_the_api_serves(chal, world, login_as, tmp_path, fmt):
    login_as("alice")
    folder = tmp_path / "data"
    token = json.loads(Path(os.environ["CHAL_CONFIG"]).read_text())["token"]
    for task, images in ((world.birds, False), (world.pairs, True)):
        result = chal("download", task.slug, "--format", fmt, "--dir", folder)
        assert result.code == 0, result.err
        names = [*FILES[fmt], *(["images.zip"] if images else [])]
        assert [line.split("  ")[0] for line in result.out.splitlines()] == [
            str(folder / f"{task.slug}-{name}") for name in names
        ]
        for name in names:
            served = requests.get(
                f"{world.url}/api/v1/tasks/{task.slug}/files/{name}",
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            )
            assert served.status_code == 200
            assert (folder / f"{task.slug}-{name}").read_bytes() == served.content, name
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        train = read(folder / f"{task.slug}-{names[0]}")
        test = read(folder / f"{task.slug}-{names[1]}")
        assert (len(train), len(test)) == (60, 30)
        assert "label" in train.columns and "label" not in test.columns
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no temporary files left"


def test_download_of_an_unknown_task_says_so(chal, world, login_as, tmp_path):
    login_as("alice")
    result = chal("download", "nope", "--dir", tmp_path / "d")
    assert (result.code, result.err) == (1, "error: no such task\n")


def test_submit_uploads_the_file_intact_and_it_is_queued(chal, world, login_as, broker, tmp_path):
    login_as("alice")
    # Large enough for many upload chunks; full validation only happens in the worker.
    rows = "".join(f"t{i:07d},bird\n" for i in range(60_000))
    content = ("id,label\n" + rows).encode()
    path = tmp_path / "predictions.csv"
    path.write_bytes(content)

    result = chal("submit", world.birds.slug, path, "--note", "first try — ünïcode")
    assert result.code == 0, result.err
    submission = Submission.objects.get()
    assert result.out == f"Submission {submission.pk} to cli-birds: queued\n"
    assert submission.status == "queued"
    assert submission.note == "first try — ünïcode"
    assert submission.original_name == "predictions.csv"
    assert submission.team == world.red
    with submission.file.open("rb") as stored:
        assert stored.read() == content

    as_json = chal("submit", world.birds.slug, path, "--json")
    assert as_json.code == 0
    assert json.loads(as_json.out)["status"] == "queued"


def test_refused_uploads_show_the_server_s_words(chal, world, login_as, broker, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,label\nt0000,bird\n")
    login_as("bob")
    no_team = chal("submit", world.birds.slug, path)
    assert no_team.code == 1
    assert no_team.err == (
        "error: You are not in a team of this challenge; create or join a team before submitting.\n"
    )
    assert no_team.out == ""

    login_as("alice")
    assert chal("submit", "nope", path).err == "error: There is no task 'nope'.\n"
    for _ in range(world.challenge.daily_submission_limit):
        assert chal("submit", world.birds.slug, path).code == 0
    limited = chal("submit", world.birds.slug, path)
    midnight = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert limited.code == 1
    assert limited.err.startswith("error: Your team has used its 2 submissions for this task")
    assert limited.err.endswith(f"\nDaily limit reached; try again after {midnight}.\n")
    assert "Traceback" not in limited.err
    assert Submission.objects.count() == 2


@pytest.mark.celery_worker
@pytest.mark.slow
def test_submit_wait_prints_the_score_from_a_real_worker(
    chal, world, login_as, broker, celery_worker, tmp_path
):
    login_as("alice")
    frame = predictions_frame(world.birds, wrong=0.3, seed=3)
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(frame))
    result = chal("submit", world.birds.slug, good, "--wait", "--timeout", "60")
    assert result.code == 0, result.err + celery_worker.log_tail()
    expected = sklearn_scores(world.birds, frame)["public"]
    lines = result.out.splitlines()
    pk = Submission.objects.get().pk
    assert lines[0] == f"Submission {pk} to cli-birds: queued"
    assert lines[-6] == f"Submission {pk}: scored"
    # The task's primary metric first, marked, with its public score and direction.
    assert lines[-5] == (
        f"Public accuracy: {expected['accuracy']:.4f} (the primary metric; higher is better)"
    )
    header, _, public, note = lines[-4:]
    assert header.split() == ["split", "accuracy", "(primary)", "macro_f1", "log_loss", "opis"]
    # OPIS is labelled for what it is: threshold consistency, not quality.
    assert note.startswith("OPIS: threshold consistency") and "not a measure of quality" in note
    assert public.split() == [
        "public",
        f"{expected['accuracy']:.4f}",
        f"{expected['macro_f1']:.4f}",
        f"{expected['log_loss']:.4f}",
        _text(Submission.objects.get().scores["public"]["opis"]),  # a dash when left out
    ]
    assert "private" not in result.out  # not revealed yet

    broken = tmp_path / "broken.csv"
    broken.write_bytes(csv_bytes(frame.drop(columns="label")))
    failed = chal("submit", world.birds.slug, broken, "--wait", "--timeout", "60")
    assert failed.code == 1
    submission = Submission.objects.get(original_name="broken.csv")
    assert submission.status == "failed"
    assert failed.err == f"error: submission {submission.pk} failed: {submission.error}\n"
    assert "label" in submission.error

    # The scored submission is on the leaderboard the worker refreshed.
    board = chal("leaderboard", world.birds.slug)
    assert board.out.splitlines()[3].split()[:3] == ["1", "Red", f"{expected['accuracy']:.4f}"]

    # A regression task: its primary metric (rmse, lower is better) leads, not last.
    prices = task_import(
        source=write_regression_bundle(tmp_path / "prices", task={"slug": "cli-prices"}),
        challenge_slug=world.challenge.slug,
        track_slug="cli-regression",
    )
    truth = solution_frame(prices)
    numbers = tmp_path / "prices.csv"
    pd.DataFrame({"id": truth["id"], "label": truth["label"] + 0.5}).to_csv(numbers, index=False)
    result = chal("submit", prices.slug, numbers, "--wait", "--timeout", "60")
    assert result.code == 0, result.err + celery_worker.log_tail()
    public = Submission.objects.get(task=prices).scores["public"]
    marked, header, _, row = result.out.splitlines()[-4:]
    assert marked == f"Public rmse: {public['rmse']:.4f} (the primary metric; lower is better)"
    assert header.split()[:3] == ["split", "rmse", "(primary)"]
    assert row.split()[:2] == ["public", f"{public['rmse']:.4f}"]


def test_leaderboards_of_a_task_and_a_track(chal, world, login_as):
    blue = TeamFactory(challenge=world.challenge, name="Blue")
    baseline = make_team(world.challenge, "AutoGluon", baseline=True)
    scored(world.birds, world.red, 0.8, minutes=1)
    scored(world.birds, blue, 0.6, minutes=2)
    scored(world.birds, baseline, 0.7, minutes=0)
    scored(world.pairs, blue, 0.9, minutes=3)
    for task in (world.birds, world.pairs):
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    LeaderboardEntry.objects.filter(team=world.red, split="public").update(
        score_low=0.7, score_high=0.9
    )

    task_board = chal("leaderboard", world.birds.slug, "--server", world.url)
    assert task_board.code == 0, task_board.err
    assert task_board.out.splitlines() == [
        "Task cli-birds: public leaderboard (accuracy)",
        "rank  team       accuracy  95% interval      note",
        "----  ---------  --------  ----------------  --------",
        "   1  Red          0.8000  [0.7000, 0.9000]",
        "   —  AutoGluon    0.7000                    baseline",
        "   2  Blue         0.6000",
    ]

    track_board = chal("leaderboard", "cli-classification", "--server", world.url)
    assert track_board.code == 0, track_board.err
    lines = track_board.out.splitlines()
    assert lines[0] == "Track cli-classification: public leaderboard (mean over its tasks)"
    assert lines[1].split() == [
        *("rank", "team", "mean", "cli-birds", "P(first)", "rank", "95%", "group", "note")
    ]
    # Red is first in every resample; one task cannot show how teams vary across tasks, so
    # rank intervals and groups are declined, with the reason under the table.
    assert [line.split() for line in lines[3:6]] == [
        ["1", "Red", "0.8000", "0.8000", "1.000", "—", "—"],
        ["—", "AutoGluon", "0.7000", "0.7000", "—", "—", "—", "baseline"],
        ["2", "Blue", "0.6000", "0.6000", "0.000", "—", "—"],
    ]
    assert lines[-2].startswith("No rank intervals or groups: ")
    # Nor the simultaneous rank sets and tiers (issue 65), with their own reason.
    assert lines[-1].startswith("No joint rank sets or tiers: 1 ranked tasks")

    hidden = chal("leaderboard", world.birds.slug, "--split", "private", "--server", world.url)
    assert (hidden.code, hidden.err) == (
        1,
        "error: The private leaderboard is hidden until the organizers reveal it.\n",
    )
    unknown = chal("leaderboard", "nope", "--server", world.url)
    assert (unknown.code, unknown.err) == (1, "error: there is no task or track 'nope'\n")

    login_as("alice")
    mine = chal("submissions")
    assert mine.code == 0, mine.err
    (sub,) = Submission.objects.filter(team=world.red)
    assert mine.out.splitlines()[2].split()[:4] == [str(sub.pk), "cli-birds", "scored", "0.8000"]
    assert len(mine.out.splitlines()) == 3  # only alice's team's submissions
    assert chal("submissions", "--task", world.pairs.slug).out == "No submissions yet.\n"


def test_teams_are_created_and_joined_by_invite_code(chal, world, login_as, monkeypatch):
    login_as("bob")
    created = chal("teams", "create", world.challenge.slug, "Blue")
    assert created.code == 0, created.err
    code = re.search(r"Invite code: (\S+)", created.out).group(1)
    assert world.challenge.teams.get(name="Blue").invite_code == code

    again = chal("teams", "create", world.challenge.slug, "Green")
    assert (again.code, again.err) == (
        1,
        "error: You are already in team “Blue” in CLI cup; leave it first "
        "(one team per person per challenge).\n",
    )

    UserFactory(username="carol")
    login_as("carol")
    joined = chal("teams", "join", code)
    assert joined.code == 0, joined.err
    assert joined.out == "Joined team Blue in cli-cup (members: bob, carol).\n"
    wrong = chal("teams", "join", "no-such-code")
    assert (wrong.code, wrong.err) == (
        1,
        "error: That invite code doesn't match any team. Check it with your team.\n",
    )


def test_the_console_script_runs(world, config_file, tmp_path):
    """One run of the installed ``chal`` executable, as a user would start it."""
    script = Path(sys.executable).with_name("chal")
    env = {**os.environ, "CHAL_CONFIG": str(config_file), "CHAL_SERVER": world.url}
    env.pop("CHAL_TOKEN", None)
    done = subprocess.run(
        [str(script), "tasks", "--challenge", world.challenge.slug],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[2:]] == ["cli-birds", "cli-pairs"]


def test_nfr_against_the_primary_reference_in_submissions_and_leaderboard(chal, world, login_as):
    """``chal submissions`` and ``chal leaderboard`` show NFR against the task's primary
    reference (an upload here), the same number a row-by-row count gives."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leaderboard.services import leaderboard_bootstrap_compute
    from scoring.services.references import reference_upload
    from scoring.services.upload import submission_create
    from scoring.solutions import solution_cache
    from scoring.tasks import score_submission
    from tests.scoring_tests.factories import solution_frame

    task = world.birds
    truth = solution_frame(task)
    public = truth[truth.split == "public"]
    classes = list(task.classes)

    def wrong_on(ids: set[str]) -> bytes:
        labels = [
            classes[(classes.index(y) + 1) % len(classes)] if i in ids else y
            for i, y in zip(truth["id"], truth["label"].astype(str), strict=True)
        ]
        return csv_bytes(pd.DataFrame({"id": truth["id"], "label": labels}))

    broken = set(public["id"][:3])  # right in the reference, wrong in alice's file
    reference_upload(
        task=task,
        name="prod model",
        file=SimpleUploadedFile("prod.csv", wrong_on(set())),
        make_primary=True,  # after the start an upload is primary only when chosen (issue 25)
    )
    sub = submission_create(
        task=task, user=world.alice, file=SimpleUploadedFile("p.csv", wrong_on(broken))
    )
    solution_cache.items.clear()
    score_submission.run(submission_pk=sub.pk)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=20)
    nfr = f"{len(broken) / len(public) * 100:.2f}%"

    board = chal("leaderboard", task.slug, "--server", world.url)
    assert board.code == 0, board.err
    lines = board.out.splitlines()
    assert "NFR vs prod model" in lines[1]
    red = next(line for line in lines if line.split()[1:2] == ["Red"])
    assert nfr in red.split()
    prod = next(line for line in lines if "prod model" in line and line.strip().startswith("—"))
    assert prod.rstrip().endswith("reference (primary)")

    login_as("alice")
    mine = chal("submissions")
    assert mine.code == 0, mine.err
    assert mine.out.splitlines()[0].split()[:5] == ["id", "task", "status", "public", "score"]
    assert "NFR" in mine.out.splitlines()[0]
    assert mine.out.splitlines()[2].split()[4] == nfr


def test_logout_revokes_the_token_on_the_server(chal, world, login_as, config_file):
    login_as("alice")
    key = json.loads(config_file.read_text())["token"]
    assert AuthToken.objects.filter(user=world.alice).count() == 1
    out = chal("logout")
    assert out.code == 0, out.err
    assert "revoked on the server and removed" in out.out
    assert not AuthToken.objects.filter(user=world.alice).exists()
    assert "token" not in json.loads(config_file.read_text())
    refused = requests.get(
        f"{world.url}/api/v1/submissions/", headers={"Authorization": f"Token {key}"}, timeout=10
    )
    assert refused.status_code == 401
    # Logging out again (nothing saved) only says where the file is.
    again = chal("logout")
    assert again.code == 0 and "revoked" not in again.out


def test_a_token_revoked_by_a_password_reset_says_so_and_a_new_login_works(
    chal, world, login_as, monkeypatch
):
    """Issue 39: a change to the account revokes its tokens; ``chal`` tells why (401
    ``token_revoked``) instead of "token invalid", and logging in again works."""
    from challenges.accounts.services import account_password_set
    from challenges.models import TokenRevocation

    login_as("alice")
    assert chal("submissions").code == 0
    account_password_set(
        user=world.alice, password=PASSWORD, reason=TokenRevocation.RESET
    )
    refused = chal("submissions")
    assert refused.code == 1
    assert "token revoked, log in again (`chal login`)" in refused.err
    assert "because the account's password was reset" in refused.err
    login_as("alice")
    assert chal("submissions").code == 0


def test_download_croissant_writes_the_description_of_what_was_downloaded(
    chal, world, login_as, tmp_path
):
    login_as("alice")
    folder = tmp_path / "data"
    task = world.birds
    result = chal("download", task.slug, "--format", "parquet", "--croissant", "--dir", folder)
    assert result.code == 0, result.err
    described = folder / f"{task.slug}-croissant.json"
    assert result.out.splitlines()[-1].startswith(f"{described}  (")
    doc = json.loads(described.read_text())
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    files = {f["name"]: f["sha256"] for f in doc["distribution"]}
    for name in ("train.parquet", "test.parquet"):
        downloaded = (folder / f"{task.slug}-{name}").read_bytes()
        assert hashlib.sha256(downloaded).hexdigest() == files[name]
    assert [r["@id"] for r in doc["recordSet"]] == ["train", "test"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no temporary files left"
