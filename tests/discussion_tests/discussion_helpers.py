"""The discussion tests' world and the Markdown payloads they post."""

from __future__ import annotations

from dataclasses import dataclass

from challenges.models import Challenge, Team
from datasets.models import Task
from tests.challenges_tests.factories import (
    ChallengeFactory,
    TeamFactory,
    TrackFactory,
    UserFactory,
    add_member,
)
from tests.leaderboard_tests.factories import make_task

# Every hostile payload of the platform's Markdown tests (tests/challenges_tests/
# test_markdown_stored.py, tests/security_tests/test_rules_gate.py, tests/datasets_tests/
# test_views_task_page.py, tests/site_pages_tests/test_challenge_page.py, tests/notifications_tests/
# test_events.py, tests/browser_tests/test_winners.py), copied here because a test module
# imports no other test module.
XSS_PAYLOADS = (
    "# Title\n\n<script>alert('x')</script>\n\n"
    '[js](javascript:alert(1)) [JS](JaVaScRiPt:alert(1)) <img src=x onerror="alert(2)"> '
    '<a href="https://example.com" onclick="evil()">ok</a> ![d](data:text/html,x) '
    "[rel](/tasks/x/) [mail](mailto:a@example.com)\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<b>')\n```\n\n`x < y` ~~old~~ **bold**",
    "# Rules\n\n1. Be **fair**.\n\n<script>alert('x')</script><img src=x onerror=alert(1)>",
    "# Hello\n\n<script>alert('x')</script>\n\n"
    '[click](javascript:alert(1)) <img src=x onerror="alert(2)"> '
    '<a href="https://example.com" onclick="evil()">ok</a>',
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "**Bold** news <script>alert(1)</script> [x](javascript:alert(2))",
    "We used **LightGBM**.<script>window.pwned=1</script>",
)
# What none of them may leave in a page or an answer (lower-cased).
UNSAFE = ("<script", "javascript:", "onerror", "onclick", "data:text")

# The worst inputs known for Markdown parsers (bench/bench_markdown.py's shapes: CommonMark's
# pathological cases and the probe's "[" x n), each made at a given length.
QUADRATIC_SHAPES = {
    "[": lambda n: "[" * n,
    "![": lambda n: "![" * (n // 2),
    "[a](": lambda n: "[a](" * (n // 4),
    "[ nested ]": lambda n: "[" * (n // 2 - 1) + "a" + "]" * (n // 2 - 1),
    "[a]: b refs": lambda n: "[a]: b\n" + "[a]" * ((n - 7) // 3),
    "* a": lambda n: "*a " * (n // 3),
    "**": lambda n: "**" * (n // 2 - 1) + "a",
    "*_": lambda n: "*_" * (n // 2),
    "_a": lambda n: "_a" * (n // 2),
    "backticks": lambda n: "`a" * (n // 2),
    "backslashes": lambda n: "\\" * n,
    "&": lambda n: "&" * n,
    "<a": lambda n: "<a " * (n // 3),
    "<!--": lambda n: "<!--" * (n // 4),
    ">": lambda n: ">" * (n - 2) + " a",
}


@dataclass
class World:
    challenge: Challenge
    task: Task
    other_task: Task
    teams: dict[str, Team]
    users: dict


def make_world(*, slug: str = "talk") -> World:
    challenge = ChallengeFactory(slug=slug, title="Talk challenge")
    track = TrackFactory(challenge=challenge, slug=f"{slug}-track", title="Track")
    task = make_task(track, slug=f"{slug}-task")
    other = make_task(track, slug=f"{slug}-other")
    teams = {"a": TeamFactory(challenge=challenge, name="Team Ann"),
             "b": TeamFactory(challenge=challenge, name="Team Bo")}  # fmt: skip
    users = {
        "ann": UserFactory(username="ann", email="ann@example.org"),
        "ann2": UserFactory(username="ann2", email="ann2@example.org"),
        "bo": UserFactory(username="bo", email="bo@example.org"),
        "cy": UserFactory(username="cy", email="cy@example.org"),  # in no team
        "org": UserFactory(username="org", email="org@example.org", is_staff=True),
    }
    add_member(teams["a"], users["ann"])
    add_member(teams["a"], users["ann2"])
    add_member(teams["b"], users["bo"])
    return World(challenge=challenge, task=task, other_task=other, teams=teams, users=users)
