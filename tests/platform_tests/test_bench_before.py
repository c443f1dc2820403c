"""``bench/bench_scale.py --steps import-command --before REV``: the before column of a
revision older than the current migrations runs on a site of its own, migrated by that
revision's migrations (on this checkout's site its ``import_task`` wrote rows the newer
schema refuses: ``NOT NULL constraint failed: datasets_taskversion.card``), and a revision
that cannot run the command at all is left out with its reason printed, not a crash.

A bench run at a few thousand rows, for what it prints, not for its times."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The last revision before TaskVersion.card (Croissant, 7807d7e): older than main's migrations.
OLDER = "12056cd9af2aa1b7d4a95c1758f55c5ad12cb5e4"
# The first revision: a lock file and the bootstrap script, no manage.py.
FIRST = "11c21ee"

pytestmark = pytest.mark.slow


def _in_history(revision: str) -> None:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{revision}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"this checkout's history lacks {revision[:7]} (a shallow clone)")


def _bench(tmp_path: Path, before: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "bench/bench_scale.py",
            *("--steps", "import-command", "--rows", "3000", "--bundles", "scale"),
            *("--ids", "counted"),
            *("--before", before, "--keep", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_an_older_revision_s_before_column_runs_on_its_own_migrations(tmp_path: Path) -> None:
    _in_history(OLDER)
    out = _bench(tmp_path, OLDER)
    assert "before s" in out and "left out" not in out, out
    (row,) = [line for line in out.splitlines() if line.lstrip().startswith("3,000 counted")]
    # rows, ids, floor s, ours s, ours/floor, target, met?, floor GiB, ours GiB, before s,
    # before/floor, before GiB
    assert re.fullmatch(r"\s*3,000 counted(\s+\S+){8}\s+[\d.]+x\s+[\d.]+\s+\(load .*\)", row), row


def test_a_revision_that_cannot_run_the_command_is_left_out_with_its_reason(
    tmp_path: Path,
) -> None:
    _in_history(FIRST)
    out = _bench(tmp_path, FIRST)
    assert f"--before {FIRST}: the before column is left out: " in out, out
    (row,) = [line for line in out.splitlines() if line.lstrip().startswith("3,000 counted")]
    assert re.fullmatch(
        r"\s*3,000 counted(\s+\S+){4}\s+(yes|no)(\s+[\d.]+){2}\s+\(load .*\)", row
    ), row
