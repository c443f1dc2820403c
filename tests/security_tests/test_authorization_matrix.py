"""Every URL of the site, requested as anonymous / team A / team B / organizer / task owner.

The task owner is a member of team C, the team that contributed ``owned_task``'s data: it
manages that task only (its baseline, its submissions after the reveal); everywhere else it
is a participant like the others (``Case.owner``, by default what team A and B get).

The matrix holds one or more cases per URL pattern, each with the status class every role
must get: the site's pages below, the API in ``matrix_api``, the admin console in
``matrix_admin``, accounts, rules and task owners in ``matrix_accounts``.
``test_every_url_pattern_has_an_expectation`` walks the URL conf, so a new URL without a row
fails the suite. Standard admin pages (changelist, add, change,
delete, history) get their rows from ``admin.site``'s registry; an admin model without an
object to point at, and any custom admin URL, must be added by hand.

Each response a non-organizer receives is also searched for what only organizers may see:
the solution (bytes, id/label lines, the private ids), private and all-rows scores before
the reveal, and the other team's notes and files.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest
from django.contrib import admin
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from challenges.models import Challenge
from leaderboard.results.export import COLUMNS as RESULT_COLUMNS
from tests.security_tests.matrix_admin import ADMIN_OBJECTS
from tests.security_tests.matrix_case import (
    ALL_OK,
    LOGIN,
    OK,
    REDIRECT,
    Case,
)
from tests.security_tests.world import ROLES, RUN_LOG_MARKER, World, client_for, value_forms

from .authorization_matrix_helpers import MATRIX, fill

pytestmark = pytest.mark.django_db


# --- the URL conf ------------------------------------------------------------------------


def walk(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    """Every URL pattern's route, joined the way ``ResolverMatch.route`` joins it."""
    for pattern in resolver.url_patterns:
        route = (
            URLResolver._join_route(prefix, str(pattern.pattern))
            if prefix
            else str(pattern.pattern)
        )
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


# --- requests ----------------------------------------------------------------------------


@dataclass
class Result:
    case: Case
    role: str
    path: str
    status: int
    location: str
    body: bytes


def request(client: Client, world: World, case: Case, role: str) -> Result:
    """One request inside a savepoint that is rolled back, so cases don't affect each other."""
    path = fill(case, world)
    headers = {}
    if path.startswith("/api/") and role != "anon":
        headers["HTTP_AUTHORIZATION"] = f"Token {world.tokens[role]}"
    with transaction.atomic():
        data = case.data(world) if case.data else None
        if case.method == "GET":
            response = client.get(path, **headers)
        elif case.method == "POST":
            response = client.post(path, data or {}, **headers)
        else:  # PATCH and the like: the API's JSON body
            body = json.dumps(data or {})
            response = client.generic(
                case.method, path, body, content_type="application/json", **headers
            )
        body = read_body(response)
        transaction.set_rollback(True)
    return Result(case, role, path, response.status_code, response.get("Location", ""), body)


def read_body(response: HttpResponse) -> bytes:
    """The whole body; the test client closes the response once a stream is consumed."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def matches(expect: str, result: Result) -> bool:
    code = result.status
    to_login = code == 302 and result.location.startswith(("/accounts/login/", "/admin/login/"))
    if expect == OK:
        return 200 <= code < 300
    if expect == LOGIN:
        return to_login
    if expect == REDIRECT:
        return 300 <= code < 400 and not to_login
    return code == int(expect)


NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:[eE]-?\d+)?(?![\w.])")


def leaks(result: Result, world: World, *, revealed: bool) -> list[str]:
    """What a non-organizer's response shows that it must not."""
    if result.role == "org":
        return []
    body = result.body
    text = body.decode("utf-8", errors="replace")
    found = []
    if world.solution_bytes in body:
        found.append("the solution file")
    if body.startswith(b"PAR1"):
        names = pq.read_schema(io.BytesIO(body)).names
        if tuple(names) == RESULT_COLUMNS:  # a track's results: the split is one of its columns
            table = pq.read_table(io.BytesIO(body))
            if not revealed and "private" in table["split"].to_pylist():
                found.append("private rows of the results")
            numbers = [table[c].to_pylist() for c in ("value", "ci_low", "ci_high")]
            text += " " + " ".join(repr(v) for column in numbers for v in column if v is not None)
        elif "split" in names or ("label" in names and result.path.count("test")):
            found.append(f"a parquet file with columns {names}")
    lines = world.solution_lines
    for sep in ("\n", "\r\n"):
        if any(sep.join(lines[i : i + 3]) in text for i in range(0, len(lines) - 2, 3)):
            found.append("solution id,label lines")
    for sep in (",", ", ", "\n", '", "'):
        if sep.join(world.private_ids) in text:
            found.append("the list of private ids (the split)")
    if result.role != "a" and RUN_LOG_MARKER in text:
        found.append("team a's run log (a line its failing run printed)")
    others = {"anon": ("a", "b"), "a": ("b",), "b": ("a",), "owner": ("a", "b")}[result.role]
    for team in others:
        if world.notes[team] in text:
            found.append(f"team {team}'s note")
        own_rows = world.files[team].split(b"\n", 1)[1]
        if own_rows[:200] in body:
            found.append(f"team {team}'s submission file")
    if not revealed:
        numbers = set(NUMBER.findall(text))
        for value in sorted(world.private_values()):
            hits = [form for form in value_forms(value) if form in numbers]
            if hits:
                found.append(f"private/all score {value} as {hits[0]!r}")
    return found


def run_matrix(world: World, role: str, *, revealed: bool) -> tuple[list[str], list[Result]]:
    failures: list[str] = []
    results = []
    for case in MATRIX:
        expect = case.expected(role, revealed=revealed)
        client = client_for(world, role)
        result = request(client, world, case, role)
        results.append(result)
        if not matches(expect, result):
            failures.append(
                f"{case.method} {result.path} as {role}: expected {expect}, got {result.status}"
                + (f" -> {result.location}" if result.location else "")
            )
        for leak in leaks(result, world, revealed=revealed):
            failures.append(f"{case.method} {result.path} as {role} shows {leak}")
    return failures, results


# --- tests ---------------------------------------------------------------------------------


def test_every_url_pattern_has_an_expectation():
    routes = set(walk(get_resolver()))
    covered = {case.route for case in MATRIX}
    missing = sorted(routes - covered)
    stale = sorted(covered - routes)
    assert not missing, f"URL patterns without a row in the authorization matrix: {missing}"
    assert not stale, f"matrix rows for URL patterns that no longer exist: {stale}"
    unknown = {m._meta.label_lower for m in admin.site._registry} - set(ADMIN_OBJECTS)
    assert not unknown, f"admin models without an object in ADMIN_OBJECTS: {unknown}"


def test_every_case_path_resolves_to_its_route(world):
    wrong = []
    for case in MATRIX:
        path = fill(case, world).split("?")[0]
        match = resolve(path)
        if match.route != case.route:
            wrong.append(f"{path} resolves to {match.route!r}, not {case.route!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_before_the_reveal(world, role):
    failures, _ = run_matrix(world, role, revealed=False)
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


def test_the_leak_check_finds_private_scores_in_what_organizers_see(world):
    """The body checks are not vacuous: the organizer's private board holds those values."""
    result = request(
        client_for(world, "org"),
        world,
        Case("", "/api/v1/tasks/{task}/leaderboard/?split=private", ALL_OK),
        "org",
    )
    as_participant = Result(result.case, "a", result.path, result.status, "", result.body)
    assert any("private/all score" in leak for leak in leaks(as_participant, world, revealed=False))
    solution = request(
        client_for(world, "org"),
        world,
        Case("", "/tasks/{task}/files/solution.parquet", ALL_OK),
        "org",
    )
    as_participant = Result(solution.case, "b", solution.path, 200, "", solution.body)
    assert "the solution file" in leaks(as_participant, world, revealed=False)
    # the organizer's results (both splits) would leak through either file
    for name in ("results.csv", "results.parquet"):
        case = Case("", f"/api/v1/tracks/{{track}}/{name}", ALL_OK)
        results = request(client_for(world, "org"), world, case, "org")
        as_participant = Result(results.case, "a", results.path, 200, "", results.body)
        found = leaks(as_participant, world, revealed=False)
        assert any("private/all score" in leak for leak in found), name


def test_after_the_reveal_private_scores_appear_for_everyone(world):
    Challenge.objects.filter(pk=world.challenge.pk).update(private_revealed=True)
    private = sorted(world.private_values())
    assert private

    def shows_private(role: str, path: str) -> bool:
        result = request(client_for(world, role), world, Case("", path, ALL_OK), role)
        assert result.status == 200, (role, path, result.status)
        numbers = set(NUMBER.findall(result.body.decode()))
        return any(form in numbers for value in private for form in value_forms(value))

    for role in ("anon", "a", "b"):
        assert shows_private(role, "/api/v1/tasks/{task}/leaderboard/?split=private")
        assert shows_private(role, "/tasks/{task}/leaderboard/?split=private")
        assert shows_private(role, "/tasks/{task}/leaderboard.csv?split=private")
    assert shows_private("a", "/api/v1/submissions/{sub_a}/")
    assert shows_private("a", "/submissions/{sub_a}/")
    assert shows_private("b", "/api/v1/submissions/")
    # Still nothing of the other team, and never the solution.
    for role in ROLES[:3]:
        failures, _ = run_matrix(world, role, revealed=True)
        assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


def test_a_failed_run_is_public_as_a_category_and_its_log_stays_with_its_team(world):
    """Issue 51: the transfer matrix (page and API, anonymous) shows team A's failing run as
    "failed" with its category; its team and the organizers read the printed line on their
    own pages. The matrix tests above search every answer of every other role for it."""
    track, run = world.task.track.slug, world.failed_run
    api = Client().get(f"/api/v1/tracks/{track}/transfer/").json()
    (cell,) = [c for c in api["cells"] if c["run"] == run.pk]
    assert (cell["status"], cell["failure"], cell["error"]) == ("failed", "exit code", "exit code")
    page = Client().get(f"/tracks/{track}/transfer/").content.decode()
    assert 'data-failure="exit code"' in page and RUN_LOG_MARKER not in page
    for role in ("a", "org"):
        own = client_for(world, role).get(f"/algorithms/{world.algorithm.pk}/")
        assert RUN_LOG_MARKER in own.content.decode(), role
        detail = Client(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}").get(
            f"/api/v1/algorithm-runs/{run.pk}/"
        )
        assert RUN_LOG_MARKER in detail.json()["error"], role
