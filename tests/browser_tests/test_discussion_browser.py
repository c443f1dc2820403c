"""The discussion in Chromium: the demo's threads (operations.demo_threads) on a challenge
with a task; the task page links its threads, the list marks the answered one, the thread
shows the organizers' answer marked; a participant replies in the browser, and a payload in
the reply runs nothing. The manual's pictures of both pages are taken here."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from discussion.models import Thread
from operations.demo_threads import demo_threads_ensure
from tests.challenges_tests.factories import ChallengeFactory, TrackFactory
from tests.leaderboard_tests.factories import make_task
from tests.support.chromium import login
from tests.support.screenshots import VIEWPORT, manual_screenshot

pytestmark = [pytest.mark.browser]


def test_a_thread_with_its_answer_and_the_task_page_s_link_as_the_manual_shows_them(
    live_server, browser, tmp_path
):
    challenge = ChallengeFactory(slug="demo-talk", title="Multimodal tabular demo")
    track = TrackFactory(challenge=challenge, slug="talk-kway", title="K-way classification")
    task = make_task(track, slug="product-types")
    call_command("ensure_accounts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert demo_threads_ensure(challenge=challenge) == "demo threads: 3 written, one answered"
    asked = Thread.objects.get(task=task)

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/tasks/{task.slug}/")
        link = page.locator("#task-threads-link")
        assert "(1 thread)" in link.inner_text()
        manual_screenshot(page, "discussion-task-link.png", tmp_path)
        link.locator("a").click()
        page.wait_for_url(re.compile(r"/c/demo-talk/threads/\?task=product-types$"))
        row = page.locator(f'tr[data-thread="{asked.pk}"]')
        assert "answered" in row.inner_text()
        assert page.locator("#threads tbody tr").count() == 1  # the task's thread only

        login(page, live_server.url, "bob", "bob-demo-pass")
        page.goto(f"{live_server.url}/threads/{asked.pk}/")
        answer = page.locator("article.post.answer")
        assert answer.count() == 1
        assert "organizers" in answer.locator(".byline").inner_text()
        assert "the answer" in answer.locator(".byline").inner_text()
        page.fill(
            "#reply textarea[name=body]",
            "Same question for *matching*.<img src=x onerror=window.pwned=1>",
        )
        page.get_by_role("button", name="Post the reply").click()
        page.wait_for_url(re.compile(r"/threads/\d+/#post-\d+$"))
        assert page.locator("article.post").count() == 4
        assert page.locator("article.post").last.locator("em").inner_text() == "matching"
        assert page.evaluate("window.pwned") is None
        assert "Stop following" in page.locator("#follow-form").inner_text()
        page.goto(f"{live_server.url}/threads/{asked.pk}/")
        manual_screenshot(page, "discussion.png", tmp_path)
    finally:
        context.close()
