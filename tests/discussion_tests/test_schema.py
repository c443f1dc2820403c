"""The discussion's API keeps to its schema: every operation documents its refusals with
their bodies, and schemathesis (every check and phase, against the live server, as a
participant whose team has a thread) finds no server error or undocumented answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from discussion.services import post_create, thread_create
from tests.challenges_tests.factories import api_key
from tests.discussion_tests.discussion_helpers import make_world

TOML = Path(__file__).resolve().parents[1] / "security_tests" / "schemathesis.toml"

DOCUMENTED = {
    ("GET", "/api/v1/challenges/{slug}/threads/"): {"200", "400", "401", "404"},
    ("POST", "/api/v1/challenges/{slug}/threads/"): {"201", "400", "401", "403", "404", "429"},
    ("GET", "/api/v1/threads/{id}/"): {"200", "400", "401", "404"},
    ("POST", "/api/v1/threads/{id}/posts/"): {"201", "400", "401", "403", "404", "409", "429"},
    ("PATCH", "/api/v1/posts/{id}/"): {"200", "400", "401", "403", "404", "409", "429"},
    ("POST", "/api/v1/posts/{id}/delete/"): {"200", "400", "401", "403", "404", "409"},
    ("POST", "/api/v1/posts/{id}/answer/"): {"200", "400", "401", "403", "404", "409"},
    ("POST", "/api/v1/posts/{id}/hide/"): {"200", "400", "401", "403", "404"},
    ("POST", "/api/v1/threads/{id}/lock/"): {"200", "400", "401", "403", "404"},
    ("POST", "/api/v1/threads/{id}/pin/"): {"200", "400", "401", "403", "404"},
    ("POST", "/api/v1/threads/{id}/follow/"): {"200", "400", "401", "404"},
}


@pytest.mark.django_db
def test_every_discussion_operation_documents_its_answers() -> None:
    schema = json.loads(Client().get("/api/v1/schema/", {"format": "json"}).content)
    for (method, path), statuses in DOCUMENTED.items():
        operation = schema["paths"][path][method.lower()]
        assert set(operation["responses"]) == statuses, (method, path)
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert "$ref" in response["content"]["application/json"]["schema"]
    thread = schema["paths"]["/api/v1/threads/{id}/"]["get"]["responses"]["200"]
    name = thread["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][name]["properties"]
    assert {"id", "title", "task", "author", "answered", "locked", "posts"} <= set(fields)
    post = fields["posts"]["items"]["$ref"].rsplit("/", 1)[1]
    assert {"id", "author", "body_html", "created", "is_answer", "hidden"} <= set(
        schema["components"]["schemas"][post]["properties"]
    )


@pytest.mark.slow
def test_schemathesis_finds_nothing_on_the_discussion(
    live_server, transactional_db, redis_server, tmp_path
) -> None:
    world = make_world(slug="st-talk")
    thread = thread_create(
        challenge=world.challenge, user=world.users["ann"], title="Seed", body="A *question*."
    )
    post_create(thread=thread, user=world.users["bo"], body="An answer.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(TOML),
            "run",
            f"{live_server.url}/api/v1/schema/?format=json",
            "--include-path-regex", "/(threads|posts)/",
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--header", f"Authorization: Token {api_key(world.users['ann'])}",
            "--max-examples", "25",
            "--seed", "20261127",
            "--workers", "1",
            "--generation-database", "none",
            "--no-color",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-3000:]
