"""Fuzz every API operation from the schema the site serves (schemathesis 3.x, Hypothesis).

Each operation gets up to ``EXAMPLES`` generated requests, sent to Django's WSGI application
as participant A, the organizer (token auth) or anonymously. Half of the time path
parameters are real objects (a task, track, challenge, submission, file name) and some body
fields real values (an invite code, a password, a valid prediction file), so generated
requests reach the views behind the 404s and some succeed. Checks: no 5xx, and every
documented response matches its schema.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.security_tests import hypothesis_compat
from tests.security_tests.world import PASSWORD, World, algorithm_archive

hypothesis_compat.install()
pytestmark = pytest.mark.django_db

EXAMPLES = 20
CHECKS = (not_a_server_error, response_schema_conformance)


@pytest.fixture
def raw_schema(world) -> dict:
    """The OpenAPI document the site serves, multipart request schemas inlined.

    schemathesis 3.x reads a multipart body's field formats from the media type's schema
    without resolving its ``$ref`` (drf-spectacular always refers to a component); a binary
    field is then sent as the text of its bytes instead of a file part.
    """
    response = Client().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    document = json.loads(response.content)
    components = document["components"]["schemas"]
    for operations in document["paths"].values():
        for operation in operations.values():
            media = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if media and "$ref" in media["schema"]:
                name = media["schema"]["$ref"].rsplit("/", 1)[1]
                media["schema"] = copy.deepcopy(components[name])
    return document


@pytest.fixture
def schema(raw_schema) -> Iterator[schemathesis.BaseSchema]:
    """The schema, bound to Django's real WSGI handler minus the connection closing between
    requests (as Django's test client does), so the test's transaction survives every call.

    Django's test client reconnects ``close_old_connections`` after each request, so it is
    not used while this fixture is active.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.from_dict(raw_schema, app=get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def real_parameters(path: str, world: World) -> dict[str, st.SearchStrategy]:
    """Strategies for the path parameters of ``path`` that point at existing objects."""
    params: dict[str, st.SearchStrategy] = {}
    if path.startswith("/api/v1/tasks/{slug}"):
        params["slug"] = st.just(world.task.slug)
    elif path.startswith("/api/v1/tracks/{slug}"):
        params["slug"] = st.just(world.task.track.slug)
    elif path.startswith("/api/v1/challenges/{slug}"):
        params["slug"] = st.just(world.challenge.slug)
    if "{id}" in path:
        params["id"] = st.sampled_from([world.submission_a.pk, world.submission_b.pk])
    if path.startswith("/api/v1/algorithms/{id}"):
        params["id"] = st.just(world.algorithm.pk)
    elif path.startswith("/api/v1/algorithm-runs/{id}"):
        params["id"] = st.just(world.algorithm_run.pk)
    if "{name}" in path:
        params["name"] = st.sampled_from(
            ["train.csv", "train.parquet", "test.csv", "test.parquet", "solution.parquet"]
        )
    return params


def real_body(path: str, world: World) -> dict[str, st.SearchStrategy]:
    """Strategies for body fields that make a request succeed (a real invite code...)."""
    if path == "/api/v1/teams/join/":
        return {"code": st.sampled_from([world.team_a.invite_code, world.team_b.invite_code])}
    if path == "/api/v1/auth/token/":
        return {
            "username": st.just(world.users["b"].username),
            "password": st.sampled_from([PASSWORD, "wrong"]),
        }
    if path == "/api/v1/tasks/{slug}/submissions/":
        return {"file": st.just(world.files["a"])}
    if path == "/api/v1/challenges/{slug}/algorithms/":
        return {"file": st.just(algorithm_archive())}
    if path == "/api/v1/algorithms/{id}/runs/":
        return {"tasks": st.just([world.task.slug])}
    return {}


def binary_fields(operation) -> list[str]:
    """The multipart fields of ``operation`` that are files (``format: binary``)."""
    media = operation.definition.raw.get("requestBody", {}).get("content", {})
    properties = media.get("multipart/form-data", {}).get("schema", {}).get("properties", {})
    return [name for name, prop in properties.items() if prop.get("format") == "binary"]


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if hasattr(value, "data"):  # schemathesis' Binary
        return value.data
    return str(value).encode()


def fuzzer(operation, *, world: World, seen: list[int]):
    """A Hypothesis test for one operation; ``seen`` collects the status codes."""
    real = real_parameters(operation.path, world)
    body = real_body(operation.path, world)
    binary = binary_fields(operation)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), data=st.data())
    def fuzz(case, data) -> None:
        if real and data.draw(st.booleans(), label="real objects"):
            for name, strategy in real.items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = data.draw(strategy, label=name)
        if body and isinstance(case.body, dict) and data.draw(st.booleans(), label="real body"):
            for name, strategy in body.items():
                case.body[name] = data.draw(strategy, label=name)
        for name in binary:  # werkzeug sends a file part only for a file object
            if isinstance(case.body, dict) and name in case.body:
                case.body[name] = (io.BytesIO(as_bytes(case.body[name])), f"{name}.bin")
        role = data.draw(st.sampled_from(["a", "org", "anon"]), label="caller")
        headers = {"Authorization": f"Token {world.tokens[role]}"} if role != "anon" else {}
        response = case.call_wsgi(headers=headers)
        seen.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    return fuzz


def test_every_api_operation_survives_fuzzing(world, schema):
    failures: list[str] = []
    statuses: dict[str, list[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        seen = statuses.setdefault(operation.verbose_name, [])
        try:
            fuzzer(operation, world=world, seen=seen)()
        except Exception as exc:  # every operation is fuzzed; report them all at the end
            failures.append(f"{operation.verbose_name}: {exc}")
    assert len(statuses) >= 12, f"only {sorted(statuses)} in the schema"
    assert not failures, "\n\n".join(failures)
    # The fuzzer got past the URL lookups: every operation answered something else than 404.
    print({name: sorted(set(codes)) for name, codes in statuses.items()})
    stuck = {name: codes for name, codes in statuses.items() if set(codes) <= {404}}
    assert not stuck, stuck
