"""``chal`` is its own distribution (``client/``): it installs alone and starts light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[2] / "client"
HEAVY = ["django", "rest_framework", "celery", "pandas", "pyarrow", "numpy", "challenge_platform"]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update(extra)
    return env


def test_importing_the_client_loads_no_django_celery_or_data_stack():
    # ... nor its own HTTP stack and progress bars until a request is made: `chal --help`
    # and a usage error import neither (docs/decisions/0057-a-status-wait-is-a-held-answer.md).
    probe = (
        "import json, sys\n"
        "import chal_client, chal_client.main, chal_client.client, chal_client.config\n"
        "import chal_client.output\n"
        "chal_client.main.build_parser()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
        "chal_client.client.Client('http://127.0.0.1:9').session.close()\n"
        "chal_client.client.progress_bar(total=1, desc='x').close()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=_clean_env(PYTHONPATH=str(CLIENT_DIR)),
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    heavy, loaded, requesting = (json.loads(line) for line in done.stdout.splitlines())
    assert heavy == []
    assert "chal_client" in loaded
    assert not {"requests", "tqdm", "urllib3", "zipfile", "dataclasses"} & set(loaded)
    assert "requests" in requesting  # (tqdm only when stderr is a terminal: a bar is shown)


@pytest.fixture(scope="module")
def installed_alone(tmp_path_factory) -> Path:
    """``pip install client/`` into an empty target folder: no platform, no network."""
    target = tmp_path_factory.mktemp("chal-alone")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(CLIENT_DIR),
        ],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return target


def test_the_client_installs_alone_with_pip_and_declares_only_http_and_progress(installed_alone):
    (dist,) = installed_alone.glob("chal_client-*.dist-info")
    metadata = (dist / "METADATA").read_text()
    requires = sorted(
        line.split(":", 1)[1].strip().split(">")[0].split("=")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    )
    assert requires == ["requests", "tqdm"]
    assert "chal = chal_client.main:main" in (dist / "entry_points.txt").read_text()
    assert not (installed_alone / "challenge_platform").exists()


def test_the_installed_console_script_runs_without_the_platform(installed_alone, tmp_path):
    script = installed_alone / "bin" / "chal"
    # Run from an empty folder so the repository's packages cannot be picked up by accident.
    env = _clean_env(PYTHONPATH=str(installed_alone), CHAL_CONFIG=str(tmp_path / "c.json"))
    version = subprocess.run(
        [sys.executable, str(script), "--version"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (version.returncode, version.stdout) == (0, "chal 0.1.0\n"), version.stderr
    unreachable = subprocess.run(
        [sys.executable, str(script), "tasks", "--server", "http://127.0.0.1:9"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("error: cannot reach the server at http://127.0.0.1:9")
