"""The Content-Security-Policy in a real Chromium: the site's pages and scripts still work.

Every page below is opened with a listener for ``securitypolicyviolation`` events and the
console's "Refused to ..." messages; the upload goes through ``submit.js`` (the API, with
its progress bar), the submissions page polls through ``live.js``, and the baseline run page
runs its nonce-marked inline script.
"""

from __future__ import annotations

import socket
from unittest import mock

import pytest
import redis
from django.utils import timezone

import operations.selectors
from algorithms.models import AlgorithmRunStatus, BaselineRun
from scoring.models import Submission
from tests.security_tests.world import PASSWORD, build_world, destroy_world
from tests.support.browser import TIMEOUT_MS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


@pytest.fixture
def page(browser):
    """A page that enforces the site's policy (the shared ``browser_page`` bypasses it)."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def world(tmp_path):
    built = build_world(tmp_path)
    yield built
    destroy_world(built)


class Watcher:
    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.console.append(text)

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        self.check(url)

    def check(self, where: str) -> None:
        violations = self.page.evaluate("window.__csp || []")
        assert not violations and not self.console, (where, violations, self.console)


def test_participant_pages_and_scripts_work_under_the_policy(live_server, page, world):
    watcher = Watcher(page)
    base = live_server.url
    login(page, base, world.users["a"].username, PASSWORD)
    watcher.check("login")
    for path in (
        "/",
        f"/c/{world.challenge.slug}/",
        f"/tasks/{world.task.slug}/",
        f"/tasks/{world.task.slug}/leaderboard/",
        f"/tracks/{world.task.track.slug}/",
        f"/teams/{world.team_a.pk}/",
        "/account/token/",
    ):
        watcher.open(base + path)
    # The dataset card's class-balance bars are drawn (SVG, no style attribute).
    watcher.open(base + f"/tasks/{world.task.slug}/")
    widths = [
        box["width"]
        for box in (
            page.locator("table.class-balance .bar").nth(i).bounding_box() for i in range(3)
        )
    ]
    assert all(w > 0 for w in widths)

    # Upload through submit.js: the API call with the CSRF header, then the detail page.
    watcher.open(base + f"/tasks/{world.task.slug}/submit/")
    before = Submission.objects.count()
    upload = world.files["a"]
    page.set_input_files(
        "form.submit-form input[type=file]",
        files=[{"name": "p.csv", "mimeType": "text/csv", "buffer": upload}],
    )
    with (
        mock.patch("jobs.lifecycle.publish", lambda *a, **kw: True),
        page.expect_response(
            lambda r: "/api/v1/tasks/" in r.url and r.request.method == "POST"
        ) as sent,
    ):
        page.click("form.submit-form button[type=submit]")
    assert sent.value.status == 201
    page.wait_for_url("**/submissions/*/")
    assert Submission.objects.count() == before + 1
    watcher.check("after the upload")

    # live.js polls the API while something is queued.
    with page.expect_request(lambda r: "/api/v1/submissions/" in r.url, timeout=10_000):
        page.goto(base + "/submissions/")
    watcher.check("submissions")


def test_organizer_console_works_under_the_policy(live_server, page, world, monkeypatch):
    # The health panel's broker part in its red state whatever Redis this run has: its
    # client is one of a loopback port nothing listens on (the live server's thread reads it).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setattr(
        operations.selectors,
        "broker_redis",
        lambda: redis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=1),
    )
    watcher = Watcher(page)
    base = live_server.url
    BaselineRun.objects.filter(pk=world.run.pk).update(
        status=AlgorithmRunStatus.RUNNING, started_at=timezone.now(), finished_at=None
    )
    login(page, base, world.users["org"].username, PASSWORD)
    for path in (
        "/admin/",
        "/admin/health/",
        "/admin/challenges/challenge/",
        f"/admin/challenges/challenge/{world.challenge.pk}/change/",
        "/admin/datasets/task/import/",
        f"/admin/datasets/task/{world.task.pk}/change/",
        "/admin/scoring/submission/",
        "/admin/algorithms/baselinerun/queue/",
        f"/tasks/{world.task.slug}/shakeup/",
    ):
        watcher.open(base + path)
    # The run page's inline script (with the nonce) runs: it polls the log tail.
    with page.expect_request(lambda r: r.url.endswith("/tail/"), timeout=10_000):
        page.goto(base + f"/admin/algorithms/baselinerun/{world.run.pk}/change/")
    watcher.check("baseline run page")
    # The health panel's status is styled through the nonce-marked style block: the
    # heartbeat's, and the broker's (unreachable, above: "Queues unknown", in red).
    page.goto(base + "/admin/health/")
    color = page.locator("#health-heartbeat strong").evaluate("e => getComputedStyle(e).color")
    assert color in ("rgb(26, 127, 55)", "rgb(180, 35, 24)")
    broker = page.locator("#health-broker-error strong").evaluate("e => getComputedStyle(e).color")
    assert broker == "rgb(180, 35, 24)"


def test_the_api_docs_render_offline_from_our_own_files(live_server, page):
    """Swagger UI comes from drf-spectacular-sidecar's static files: with every request that
    leaves this server refused, the page still draws the operations, under its policy."""
    watcher = Watcher(page)
    outside: list[str] = []

    def only_this_server(route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    watcher.open(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=TIMEOUT_MS)
    assert page.locator(".swagger-ui .opblock").count() >= 12
    watcher.check("api docs")
    assert outside == []
