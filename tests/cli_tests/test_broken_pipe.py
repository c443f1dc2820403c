"""``chal ... | head``: when the reader of its output goes away, chal stops without a word
(it printed "error: Broken pipe") and exits 141, as a program killed by SIGPIPE does; an
upload already made stays made.

The pipes are real: the console script runs with its standard output on a pipe whose read
end is already closed, so its first write fails (what ``head`` does once it has its lines).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from chal_client.main import READER_GONE
from scoring.models import Submission

CHAL = Path(sys.executable).with_name("chal")


def chal_into_a_closed_pipe(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before chal writes anything
    try:
        return subprocess.run(
            [str(CHAL), *args], stdout=write_end, stderr=subprocess.PIPE, env=env, text=True,
            timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)


def test_submit_into_a_closed_pipe_is_quiet_and_the_upload_is_made(
    world, login_as, broker, config_file, tmp_path
) -> None:
    login_as("alice")
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("id,label\n" + "".join(f"t{i:07d},bird\n" for i in range(100)))
    env = {**os.environ, "CHAL_CONFIG": str(config_file)}
    env.pop("CHAL_TOKEN", None)
    done = chal_into_a_closed_pipe("submit", world.birds.slug, str(predictions), env=env)
    assert "Broken pipe" not in done.stderr and "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
    assert (done.returncode, done.stderr) == (READER_GONE, "")
    (submission,) = Submission.objects.all()
    assert submission.team == world.red and submission.status == "queued"


def test_a_reader_gone_in_process_returns_141_and_prints_nothing(
    config_file, monkeypatch, capsys
) -> None:
    """The same through ``main`` (a stdout whose writes fail as a closed pipe's do)."""

    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            raise OSError("no descriptor")

    from chal_client.main import main

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    # logout with nothing saved prints one line (no server is asked): its write fails
    assert main(["logout", "--server", "http://127.0.0.1:9"]) == READER_GONE
    assert capsys.readouterr().err == ""
