"""Markdown is rendered once, when a text is saved, and pages show the stored HTML (issue 51):
the renderer (markdown-it-py, sanitized by nh3) keeps what pages use (headings, tables,
code, links with safe schemes) and drops what is unsafe; every page that shows Markdown
renders none in the request, counted at the parser; old rows are rendered by the migrations
and again by ``manage.py render_markdown``."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from markdown_it import MarkdownIt

from algorithms.models import Algorithm, AlgorithmVersion
from challenges.models import Challenge
from common.markdown import render_markdown
from notifications.services import announcement_create
from standings.writeups import writeup_save
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory, UserFactory, add_member
from tests.leaderboard_tests.factories import make_task, make_team

HOSTILE = (
    "# Title\n\n<script>alert('x')</script>\n\n"
    '[js](javascript:alert(1)) [JS](JaVaScRiPt:alert(1)) <img src=x onerror="alert(2)"> '
    '<a href="https://example.com" onclick="evil()">ok</a> ![d](data:text/html,x) '
    "[rel](/tasks/x/) [mail](mailto:a@example.com)\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<b>')\n```\n\n`x < y` ~~old~~ **bold**"
)


def test_the_renderer_keeps_what_pages_use_and_drops_what_is_unsafe() -> None:
    html = render_markdown(HOSTILE)
    assert "<h1>Title</h1>" in html
    assert "<td>1</td>" in html and "<th>a</th>" in html  # pipe tables
    assert "<pre><code>print('&lt;b&gt;')\n</code></pre>" in html  # fenced code, escaped
    assert "<code>x &lt; y</code>" in html and "<s>old</s>" in html
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in html
    assert '<a href="/tasks/x/" rel="noopener noreferrer">rel</a>' in html
    assert '<a href="mailto:a@example.com" rel="noopener noreferrer">mail</a>' in html
    lowered = html.lower()
    for unsafe in ("<script", "javascript:", "onerror", "onclick", "data:"):
        assert unsafe not in lowered, unsafe
    assert '<a rel="noopener noreferrer">js</a>' in html  # the text stays, the href goes


def test_nesting_is_capped_so_no_input_recurses_deeply() -> None:
    for text in (">" * 50_000 + " a", "* " * 10_000 + "a", "[" * 50_000 + "]" * 50_000):
        render_markdown(text)  # no RecursionError


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each Markdown parse in this process, by the length of its text."""
    calls: list[int] = []
    original = MarkdownIt.render

    def counted(self: MarkdownIt, src: str, env: object = None) -> str:
        calls.append(len(src))
        return original(self, src, env)

    monkeypatch.setattr(MarkdownIt, "render", counted)
    return calls


@pytest.fixture
def site(db) -> dict:
    """One of each text a page shows as Markdown, each saved through its ordinary path."""
    challenge = ChallengeFactory(
        slug="md",
        description="The **challenge** " + "[" * 2000,
        rules="# Rules\n\nBe **fair**.",
        end=timezone.now() - timedelta(hours=1),  # ended: write-ups are public
    )
    track = TrackFactory(challenge=challenge, slug="md-track", prize="A **trophy**")
    task = make_task(track, slug="md-task")
    task.description = "The **task** " + "[" * 2000
    task.save()
    team = make_team(challenge, "writers")
    member = UserFactory()
    add_member(team, member)
    writeup_save(
        team=team, user=member, title="M", body="The **method** " + "[" * 2000, submission_ids=[]
    )
    announcement_create(challenge=challenge, user=None, title="News", body="**Big** news")
    algorithm = Algorithm.objects.create(challenge=challenge, team=team, name="Algo")
    AlgorithmVersion.objects.create(
        algorithm=algorithm,
        number=1,
        archive="a.zip",
        archive_sha256="1" * 64,
        description="The **algorithm** " + "[" * 2000,
    )
    return {"challenge": challenge, "track": track, "task": task, "team": team,
            "member": member, "algorithm": algorithm}  # fmt: skip


def test_every_page_shows_the_stored_rendering_and_renders_nothing(site, parses) -> None:
    client = Client()
    client.force_login(site["member"])
    pages = {
        "/c/md/": ("<strong>challenge</strong>", "<strong>Big</strong> news"),
        "/c/md/rules/": ("<h1>Rules</h1>", "<strong>fair</strong>"),
        "/tasks/md-task/": ("<strong>task</strong>",),
        f"/teams/{site['team'].pk}/method/": ("<strong>method</strong>",),
        "/tracks/md-track/winners/": ("<strong>trophy</strong>",),
        f"/algorithms/{site['algorithm'].pk}/": ("<strong>algorithm</strong>",),
    }
    for url, shown in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for html in shown:
            assert html in page, (url, html)
    assert parses == []  # no view parsed Markdown: every page read the stored HTML


def test_each_text_is_rendered_when_saved(site, parses) -> None:
    challenge = Challenge.objects.get(slug="md")
    assert challenge.description_html.startswith("<p>The <strong>challenge</strong> [[[")
    challenge.rules = "*new* rules"
    challenge.save()
    assert sorted(parses) == sorted([len("*new* rules"), len(challenge.description)])
    challenge.refresh_from_db()
    assert challenge.rules_html == "<p><em>new</em> rules</p>\n"
    version = AlgorithmVersion.objects.get(algorithm=site["algorithm"])
    assert version.description_html.startswith("<p>The <strong>algorithm</strong>")


def test_render_markdown_and_the_migrations_render_rows_written_around_a_save(site) -> None:
    """``QuerySet.update`` writes no rendering: the command (and each migration that added a
    field, for the rows before it) renders every stored text again."""
    Challenge.objects.filter(slug="md").update(description="*changed*", description_html="")
    AlgorithmVersion.objects.update(description_html="")
    call_command("render_markdown")
    assert Challenge.objects.get(slug="md").description_html == "<p><em>changed</em></p>\n"
    assert AlgorithmVersion.objects.get().description_html.startswith("<p>The <strong>alg")
    AlgorithmVersion.objects.update(description_html="")
    migration = importlib.import_module("algorithms.migrations.0007_version_description_html")
    migration.render(apps, None)
    assert AlgorithmVersion.objects.get().description_html.startswith("<p>The <strong>alg")
