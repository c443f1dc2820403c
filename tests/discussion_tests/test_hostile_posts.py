"""Hostile posts: every XSS payload of the platform's Markdown tests, on every page and API
answer that shows a post (the thread page for a reader and for an organizer, a hidden post's
text the organizers read, the edit page, the list's titles, the API's thread and post
answers), and the quadratic inputs of the Markdown hardening (bench/bench_markdown.py's
shapes) at the size cap: each stored with its rendering once, when saved, and every page
then shown without a parse."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from markdown_it import MarkdownIt

from discussion.models import Post
from discussion.services import post_hide
from tests.discussion_tests.discussion_helpers import QUADRATIC_SHAPES, UNSAFE, XSS_PAYLOADS

pytestmark = pytest.mark.django_db


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


def safe(text: str) -> None:
    lowered = text.lower()
    for unsafe in UNSAFE:
        assert unsafe not in lowered, unsafe


class ActiveContent(HTMLParser):
    """What would run in a browser: script elements, event-handler attributes, URLs of the
    javascript: and data: schemes (text that merely reads like them is harmless)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed"):
            self.found.append(tag)
        for name, value in attrs:
            scheme = (value or "").strip().lower()
            if name.startswith("on") or scheme.startswith(("javascript:", "data:")):
                self.found.append(f"{tag} {name}={value}")


def page_safe(html: str) -> None:
    parser = ActiveContent()
    parser.feed(html)
    assert parser.found == []


def safe_html_of(answer) -> None:
    """The HTML an API answer carries (titles and names are text, for the client to escape)."""
    data = answer.json()
    for post in data.get("posts", [data]) if "results" not in data else []:
        safe(post["body_html"])


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_no_payload_reaches_a_page_or_an_answer(world, api, payload):
    slug = world.challenge.slug
    created = api("ann").post(
        f"/api/v1/challenges/{slug}/threads/",
        {"title": payload[:200], "body": payload, "task": world.task.slug},
        format="json",
    )
    assert created.status_code == 201, created.content
    thread = created.json()
    safe_html_of(created)
    replied = api("bo").post(f"/api/v1/threads/{thread['id']}/posts/", {"body": payload})
    assert replied.status_code == 201
    safe_html_of(replied)
    organizers = api("org").post(f"/api/v1/threads/{thread['id']}/posts/", {"body": payload})
    safe_html_of(organizers)
    post_hide(post=Post.objects.get(pk=replied.json()["id"]), user=world.users["org"], reason="x")
    edited = api("ann").patch(f"/api/v1/posts/{thread['posts'][0]['id']}/", {"body": payload})
    assert edited.status_code == 200
    safe_html_of(edited)

    answers = [
        api(None).get(f"/api/v1/threads/{thread['id']}/"),
        api("org").get(f"/api/v1/threads/{thread['id']}/"),  # the hidden post's text too
        api(None).get(f"/api/v1/challenges/{slug}/threads/"),
    ]
    pages = [
        Client().get(f"/threads/{thread['id']}/"),
        logged_in(world.users["org"]).get(f"/threads/{thread['id']}/"),
        logged_in(world.users["ann"]).get(f"/threads/{thread['id']}/"),
        Client().get(f"/c/{slug}/threads/"),
        Client().get(f"/c/{slug}/threads/?task={world.task.slug}&q=a"),
        Client().get(f"/tasks/{world.task.slug}/"),
    ]
    for answer in answers:
        assert answer.status_code == 200
        safe_html_of(answer)
    for page in pages:
        assert page.status_code == 200
        page_safe(page.content.decode())
    organizer_page = pages[1].content.decode()
    assert organizer_page.count('class="hidden-text"') == 1  # the organizers read it, cleaned
    # The edit page holds the author's Markdown as text in its form, escaped.
    edit = logged_in(world.users["ann"]).get(f"/posts/{thread['posts'][0]['id']}/edit/")
    assert edit.status_code == 200
    page_safe(edit.content.decode())


@pytest.mark.parametrize("shape", sorted(QUADRATIC_SHAPES))
def test_quadratic_inputs_at_the_cap_are_rendered_once_and_shown_without_a_parse(
    world, api, settings, parses, shape
):
    text = QUADRATIC_SHAPES[shape](settings.DISCUSSION_POST_MAX_CHARS)
    assert 0 < len(text) <= settings.DISCUSSION_POST_MAX_CHARS
    created = api("ann").post(
        f"/api/v1/challenges/{world.challenge.slug}/threads/",
        {"title": shape, "body": text},
        format="json",
    )
    assert created.status_code == 201, created.content[:500]
    thread_id = created.json()["id"]
    replied = api("bo").post(f"/api/v1/threads/{thread_id}/posts/", {"body": text}, format="json")
    assert replied.status_code == 201
    assert len(parses) == 2  # once per post, when it was saved
    for answer in (
        Client().get(f"/threads/{thread_id}/"),
        api(None).get(f"/api/v1/threads/{thread_id}/"),
        Client().get(f"/c/{world.challenge.slug}/threads/?q=a"),
    ):
        assert answer.status_code == 200
    assert len(parses) == 2  # no page renders
    # One character more is refused before anything is parsed or written.
    over = api("bo").post(f"/api/v1/threads/{thread_id}/posts/", {"body": text + "x" * 4})
    if len(text) + 4 > settings.DISCUSSION_POST_MAX_CHARS:
        assert over.status_code == 400 and over.json()["code"] == "post_too_long"
        assert len(parses) == 2
