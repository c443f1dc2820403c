"""The live API against its own OpenAPI schema, from outside, with schemathesis 4.

schemathesis' command line runs against the live server (real HTTP on localhost) as a
participant, with every check (server errors, undocumented statuses, response bodies and
headers against their schema, schema-valid requests refused, schema-invalid ones accepted,
unsupported methods, resources that vanish...) and every phase, the stateful one included
(chains of calls following the schema's links). Any failure fails the test with
schemathesis' own report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security_tests.world import build_world, destroy_world

pytestmark = [pytest.mark.slow]


@pytest.fixture
def live_world(live_server, transactional_db, redis_server, tmp_path):
    world = build_world(tmp_path)
    yield world
    destroy_world(world)


def test_the_live_api_keeps_to_its_schema(live_server, live_world, tmp_path, settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{live_server.url}/api/v1/schema/?format=json",
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--header", f"Authorization: Token {live_world.tokens['a']}",
            "--max-examples", "15",
            "--seed", "20261122",
            "--workers", "1",
            "--generation-database", "none",
            "--no-color",
            "--report", "junit", "--report-dir", str(tmp_path / "report"),
        ],
        env=env,
        cwd=tmp_path,  # schemathesis keeps its state in ./.schemathesis
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-3000:]
