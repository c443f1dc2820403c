"""The manual's pictures, from the pages as they are (tests/support/screenshots.py).

Each test builds the state a picture shows with the tests' factories (real imports, real
scoring, real intervals), opens the page in Chromium, checks that the page shows what the
manual's caption says, and takes the picture: into the test's folder on every run, and into
``docs/screenshots/`` with ``DOCS_SCREENSHOTS=1``.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.challenges_tests.factories import UserFactory
from tests.support.browser import login
from tests.support.screenshots import VIEWPORT, manual_screenshot

from .board_states import PASSWORD, TEAMS, scored_board
from .manual_states import (
    STRESS_TEAMS,
    TRANSFER_TASKS,
    TRANSFER_TEAMS,
    champion_task,
    stress_board,
    transfer_track,
)

pytestmark = [pytest.mark.browser]
def test_the_task_board_and_a_submission_as_the_manual_shows_them(live_server, browser, tmp_path):
    cache.clear()
    task, owls = scored_board(tmp_path)
    visitor = browser.new_context(viewport=VIEWPORT)
    try:
        page = visitor.new_page()
        page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
        table = page.locator("table.leaderboard")
        for name in TEAMS:
            assert table.locator(f'tr[data-team="{name}"]').count() == 1, name
        assert table.locator('tr[data-team="Trivial baseline"]').count() == 1
        assert table.locator('tr[data-team="Owls"] td').first.inner_text() == "1"
        assert table.locator("th[data-column=nfr]").count() == 1
        assert table.locator("th[data-column=tier]").count() == 1  # the joint rank sets' tiers
        assert table.locator('tr[data-team="Owls"]').get_attribute("data-tier") == "1"
        page.locator("#tradeoff svg").wait_for()
        manual_screenshot(page, "leaderboard.png", tmp_path)
    finally:
        visitor.close()

    member = browser.new_context(viewport=VIEWPORT)
    try:
        page = member.new_page()
        login(page, live_server.url, "owls", PASSWORD)
        page.goto(f"{live_server.url}/submissions/{owls.pk}/")
        insight = page.locator("#flips")
        insight.wait_for()
        assert page.locator("svg").count() >= 2  # the confusion matrix and the threshold chart
        assert "previous best" in insight.inner_text()
        insight.scroll_into_view_if_needed()
        manual_screenshot(page, "submission.png", tmp_path)
    finally:
        member.close()


def test_the_console_dashboard_as_the_manual_shows_it(live_server, browser, tmp_path, redis_client):
    cache.clear()
    task, _ = scored_board(tmp_path)
    redis_client.flushall()  # the boards' and mails' messages no worker of this test takes
    UserFactory(username="organizer", is_staff=True, is_superuser=True)
    organizer = browser.new_context(viewport=VIEWPORT)
    try:
        page = organizer.new_page()
        login(page, live_server.url, "organizer", PASSWORD, path="/admin/login/")
        page.goto(f"{live_server.url}/admin/")
        dashboard = page.locator("#console-dashboard")
        assert dashboard.locator("h3").first.inner_text() == task.track.challenge.title
        assert dashboard.locator(".dash-teams").first.inner_text() == str(len(TEAMS))
        manual_screenshot(page, "admin.png", tmp_path)
    finally:
        organizer.close()


def test_the_transfer_matrix_and_the_track_comparisons_as_the_manual_shows_them(
    live_server, browser, tmp_path
):
    world = transfer_track(tmp_path)
    track = world.track.slug
    visitor = browser.new_context(viewport={**VIEWPORT, "height": 520})
    try:
        page = visitor.new_page()
        page.goto(f"{live_server.url}/tracks/{track}/transfer/")
        matrix = page.locator("#transfer-matrix")
        matrix.wait_for()
        header = matrix.locator("thead").inner_text().lower()
        assert all(title.lower() in header for title in TRANSFER_TASKS.values()), header
        body = matrix.locator("tbody").inner_text()
        for _, method in TRANSFER_TEAMS.values():
            assert method in body, method
        assert matrix.locator(".cell").count() >= 9  # 3 methods x 3 tasks, each with a delta
        manual_screenshot(page, "transfer.png", tmp_path)

        section = page.locator("#decomposition")
        assert section.locator("h2").inner_text() == "What is the method and what is the data"
        assert section.locator("h3", has_text="Home advantage").count() == 1
        assert section.locator("svg").count() >= 1  # the effects and their intervals
        assert "Hawks" in section.locator("table").last.inner_text()  # their home task
        section.scroll_into_view_if_needed()
        manual_screenshot(section, "decomposition.png", tmp_path)

        page.goto(f"{live_server.url}/tracks/{track}/")
        standings = page.locator("table.leaderboard").first
        standings.wait_for()
        assert "P(FIRST)" in standings.locator("thead").inner_text().upper()
        owls = standings.locator("tbody tr", has_text="Owls").first
        assert owls.locator("td").first.inner_text().strip() == "1"
        assert owls.locator('[data-role="p-first"]').inner_text().strip()  # a value, not blank
        manual_screenshot(standings, "p-first.png", tmp_path)

        comparisons = page.locator("#comparisons")
        assert comparisons.locator("h2").inner_text() == "Which teams can be told apart"
        assert comparisons.locator("#cd-diagram svg").count() == 1
        assert comparisons.locator("#pairwise tbody tr").count() == 3  # every pair of three
        assert comparisons.locator('[data-role="verdict"]').first.inner_text() in {
            "better",
            "worse",
            "equivalent",
            "undecided",
        }
        manual_screenshot(comparisons, "comparisons.png", tmp_path)
    finally:
        visitor.close()


def test_the_robustness_column_and_a_run_s_families_as_the_manual_shows_them(
    live_server, browser, tmp_path
):
    state = stress_board(tmp_path)
    UserFactory(username="organizer", is_staff=True, is_superuser=True)
    organizer = browser.new_context(viewport={**VIEWPORT, "height": 520})
    try:
        page = organizer.new_page()
        login(page, live_server.url, "organizer", PASSWORD, path="/admin/login/")
        page.goto(f"{live_server.url}/tasks/{state.task.slug}/leaderboard/")
        board = page.locator("table.leaderboard").first
        board.wait_for()
        assert board.locator("th[data-column=robustness]").count() == 1
        assert board.locator("th[data-column=transitivity]").count() == 1
        for team in STRESS_TEAMS:
            assert board.locator(f'tr[data-team="{team}"]').count() == 1, team
        assert "worst" in board.locator('tr[data-team="Hawks"]').inner_text()
        assert "needs an algorithm" in board.locator('tr[data-team="Larks"]').inner_text()
        # A matching board is wider than the page: scrolled to its last columns, as a reader
        # does, the rank and team columns staying put.
        frame = board.locator("xpath=..")
        frame.evaluate("f => { f.scrollLeft = f.scrollWidth; }")
        seen = frame.bounding_box()
        for column in ("robustness", "transitivity"):
            box = board.locator(f"th[data-column={column}]").bounding_box()
            assert seen["x"] <= box["x"] and box["x"] + box["width"] <= seen["x"] + seen["width"]
        manual_screenshot(frame, "robustness.png", tmp_path)

        page.goto(f"{live_server.url}/algorithms/{state.algorithms['Hawks'].pk}/")
        families = page.locator("details.robustness").first
        families.locator("summary").click()
        assert "Robustness: mean ratio" in families.locator("summary").inner_text()
        rows = families.locator("tbody tr")
        assert [rows.nth(i).get_attribute("data-family") for i in range(rows.count())] == [
            "typos",
            "transliteration",
        ]
        ratios = families.locator('[data-role="ratio"]').all_inner_texts()
        assert all(float(r) < 1 for r in ratios), ratios  # exact strings lose on the copies
        manual_screenshot(families, "robustness-run.png", tmp_path)
    finally:
        organizer.close()


def test_the_champion_its_timeline_and_the_verdicts_as_the_manual_shows_them(
    live_server, browser, tmp_path
):
    state = champion_task(tmp_path)
    assert len(state.crowned) == 2  # the Owls, twice
    visitor = browser.new_context(viewport={**VIEWPORT, "height": 900})
    try:
        page = visitor.new_page()
        page.goto(f"{live_server.url}/tasks/{state.task.slug}/")
        section = page.locator("#champion")
        section.wait_for()
        assert section.locator("h2").inner_text() == "Champion"
        assert "Owls" in section.locator('[data-role="current-champion"]').inner_text()
        steps = section.locator('[data-role="champion-timeline"] li')
        assert [steps.nth(i).get_attribute("data-by") for i in range(3)] == [
            "gate",
            "gate",
            "initial",
        ]
        assert "Production model (June)" in steps.nth(2).inner_text()
        verdicts = section.locator('[data-role="champion-verdicts"]')
        assert section.locator("h3", has_text="Would this be a champion?").count() == 1
        for team in ("Hawks", "Kestrels"):
            assert verdicts.locator(f'tr[data-team="{team}"]').get_attribute("data-verdict") == "no"
        kestrels = verdicts.locator('tr[data-team="Kestrels"]').inner_text()
        assert "A slice breaks: color = red" in kestrels
        manual_screenshot(section, "champion.png", tmp_path)
    finally:
        visitor.close()
