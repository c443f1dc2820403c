"""``chal algorithm submit`` against a live server and a real worker on the algorithms queue
(the runs go through the real bubblewrap sandbox)."""

from __future__ import annotations

import textwrap
import zipfile
from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun, AlgorithmVersion
from scoring.models import Submission
from testkit.archives import HONEST_MAIN, manifest

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker]

FAILING_MAIN = """
import sys
print("giving up on purpose", file=sys.stderr)
sys.exit(3)
"""


def algorithm_folder(root: Path, main: str, name: str) -> Path:
    root.mkdir(parents=True)
    (root / "algorithm.yaml").write_text(manifest(name), encoding="utf-8")
    (root / "main.py").write_text(textwrap.dedent(main), encoding="utf-8")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"stale")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_a_folder_is_zipped_uploaded_and_run_on_the_track(
    chal, world, login_as, broker, worker_factory, tmp_path
):
    worker = worker_factory(queues="algorithms,scoring", concurrency=1, name="algorithms")
    worker.wait_ready()
    login_as("alice")
    folder = algorithm_folder(tmp_path / "honest", HONEST_MAIN, "Honest")
    result = chal(
        "algorithm", "submit", folder, "--track", "cli-classification", "--wait", "--timeout", "240"
    )
    assert result.code == 0, result.err + worker.log_tail(60)
    version = AlgorithmVersion.objects.get()
    run = AlgorithmRun.objects.get()
    assert run.status == "succeeded" and run.task == world.birds
    lines = result.out.splitlines()
    assert lines[0] == (
        f"Algorithm Honest v1 (id {version.algorithm_id}): 1 run(s) queued on track "
        "cli-classification"
    )
    assert any(
        line.startswith("cli-birds: succeeded in ")
        and line.endswith(f"submission {run.submission_id}")
        for line in lines
    ), result.out
    assert Submission.objects.get().team == world.red
    # The folder's files only: no __pycache__, no hidden folder.
    with version.archive.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        assert sorted(archive.namelist()) == ["algorithm.yaml", "main.py"]

    # A .zip is uploaded as it is; a failed run makes the command fail with its task named.
    failing = tmp_path / "failing.zip"
    with zipfile.ZipFile(failing, "w") as archive:
        archive.writestr("algorithm.yaml", manifest("Failing"))
        archive.writestr("main.py", textwrap.dedent(FAILING_MAIN))
    failed = chal(
        "algorithm",
        "submit",
        failing,
        "--track",
        "cli-classification",
        "--wait",
        "--timeout",
        "240",
    )
    assert failed.code == 1
    assert "cli-birds: failed" in failed.out and "giving up on purpose" in failed.out
    assert failed.err == "error: 1 of 1 run(s) did not succeed: cli-birds (failed)\n"


def test_refusals_are_plain_messages(chal, world, login_as, broker, tmp_path):
    login_as("alice")
    missing = chal("algorithm", "submit", tmp_path / "nope", "--track", "cli-classification")
    assert (missing.code, missing.err) == (
        2,
        f"error: no such folder or file: {tmp_path / 'nope'}\n",
    )
    folder = algorithm_folder(tmp_path / "honest", HONEST_MAIN, "Honest")
    unknown = chal("algorithm", "submit", folder, "--track", "no-such-track")
    assert unknown.code == 1 and "no track 'no-such-track'" in unknown.err
    # The server's own words for a broken archive (no entrypoint), and nothing queued.
    (folder / "main.py").unlink()
    refused = chal("algorithm", "submit", folder, "--track", "cli-classification")
    assert refused.code == 1 and "main.py" in refused.err, refused.err
    assert not AlgorithmRun.objects.exists()


def test_before_the_start_it_refuses_before_uploading(chal, world, login_as, broker, tmp_path):
    """Issue 25: it uploaded a version and only then met the run's refusal. The server is
    asked first (the runs' own checks), so nothing is stored or queued. (After the end a run
    is allowed: it goes to the post-challenge benchmark, issue 26.)"""
    from datetime import timedelta

    from django.utils import timezone

    from challenges.models import Challenge

    login_as("alice")
    Challenge.objects.filter(pk=world.challenge.pk).update(
        start=timezone.now() + timedelta(days=1), end=timezone.now() + timedelta(days=2)
    )
    folder = algorithm_folder(tmp_path / "early", HONEST_MAIN, "Early")
    early = chal("algorithm", "submit", folder, "--track", "cli-classification")
    assert early.code == 1
    assert "an algorithm run submits, so it cannot run before then" in early.err, early.err
    assert not AlgorithmVersion.objects.exists() and not AlgorithmRun.objects.exists()
