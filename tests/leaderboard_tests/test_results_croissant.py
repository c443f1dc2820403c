"""The results' Croissant file loads in mlcroissant through a live server (the rows are the
Parquet file's), and the manual's snippet, as written, loads a task with mlcroissant and a
track's results with pandas."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest
import requests

from leaderboard.refresh import task_leaderboard_refresh
from leaderboard.results.export import COLUMNS
from tests.challenges_tests.factories import api_key
from tests.datasets_tests.croissant_support import (  # noqa: F401 - fixture
    croissant_cache,
    plain,
)
from tests.datasets_tests.factories import imported_task
from tests.scoring_tests.factories import make_participant

from .benchmark_world import _submit

PAGE = Path(__file__).resolve().parents[2] / "docs/participants/load-data-and-results.md"


def readme_snippet() -> str:
    (snippet,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    return snippet


def scored_track(tmp_path: Path):
    """A task ``bird-strikes`` in the track ``classification`` (the manual's names) with
    two teams' scored submissions on its board."""
    task = imported_task(tmp_path, slug="bird-strikes", track_slug="classification", rows=120)
    participants = []
    for seed, name in enumerate(("ann", "bob")):
        participant = make_participant(task.track.challenge, username=name, name=f"team-{name}")
        _submit(tmp_path, task, participant.team, 0.2 + 0.1 * seed, seed)
        participants.append(participant)
    task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return task, participants


@pytest.mark.usefixtures("croissant_cache")
def test_the_results_croissant_loads_the_parquet_rows_through_a_live_server(
    live_server, tmp_path: Path
) -> None:
    task, _ = scored_track(tmp_path)
    base = f"{live_server.url}/api/v1/tracks/{task.track.slug}"
    doc = requests.get(f"{base}/results/croissant.json", timeout=30).json()
    dataset = mlc.Dataset(jsonld=doc)
    assert not dataset.metadata.ctx.issues.errors
    assert doc["isLiveDataset"] is True and doc["tc:splits"] == ["public"]
    assert {f["name"] for f in doc["distribution"]} == {"results.parquet", "results.csv"}
    assert all("sha256" not in f for f in doc["distribution"])  # live: no checksum
    (record_set,) = doc["recordSet"]
    assert [f["name"] for f in record_set["field"]] == list(COLUMNS)
    table = pq.read_table(io.BytesIO(requests.get(f"{base}/results.parquet", timeout=30).content))
    expected = [tuple(plain(v) for v in row.values()) for row in table.to_pylist()]
    assert len(expected) >= 4
    loaded = [
        tuple(plain(record[f"results/{c}"]) for c in COLUMNS)
        for record in dataset.records("results")
    ]
    assert loaded == expected


def test_the_readme_snippet_says_what_to_install_to_load_the_record_sets() -> None:
    """mlcroissant reads a record set's Parquet file only with its ``parquet`` extra
    (pyarrow): the snippet's first line installs it and every package the snippet imports,
    and docs/participants/formats.md says it too."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    snippet = readme_snippet()
    install = snippet.splitlines()[0]
    assert install.startswith("# pip install ")
    named = shlex.split(install.removeprefix("# pip install "))
    wanted = {r.name: r.extras for r in map(Requirement, named)}
    imported = set(re.findall(r"^import (\w+)", snippet, flags=re.M)) - set(sys.stdlib_module_names)
    assert set(wanted) == imported == {"mlcroissant", "pandas", "requests"}
    assert wanted["mlcroissant"] == {"parquet"}
    assert 'pyarrow; extra == "parquet"' in (requires("mlcroissant") or [])
    docs = " ".join((PAGE.parents[1] / "participants" / "formats.md").read_text().split())
    assert 'pip install "mlcroissant[parquet]"' in docs


@pytest.mark.slow
def test_the_readme_snippet_loads_a_task_and_the_results(live_server, tmp_path: Path) -> None:
    task, (ann, _) = scored_track(tmp_path)
    epilogue = (
        "\nimport json\n"
        "print(json.dumps({'train': len(train), 'columns': sorted(train.columns),"
        " 'results': len(results), 'accuracy': len(accuracy)}))\n"
    )
    env = {
        **os.environ,
        "CHAL_SERVER": live_server.url,
        "CHAL_USERNAME": "ann",
        "CHAL_TOKEN": api_key(ann.user),
        "CROISSANT_CACHE": str(tmp_path / "croissant-cache"),
        "NETRC": str(tmp_path / "no-netrc"),
    }
    done = subprocess.run(
        [sys.executable, "-c", readme_snippet() + epilogue],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["train"] == task.train_rows
    assert "train/id" in said["columns"] and "train/label" in said["columns"]
    results = pq.read_table(
        io.BytesIO(
            requests.get(
                f"{live_server.url}/api/v1/tracks/classification/results.parquet", timeout=30
            ).content
        )
    )
    assert said["results"] == results.num_rows > 0
    assert said["accuracy"] == 2  # the two teams' public accuracy
