"""A board per phase and the team's page with phases, in Chromium
(docs/participants/phases.md): in the development phase the board ranks its entries; once
the blind final phase opens the board ranks that phase's, which a visitor does not see; the
selector reads the development phase's board again; its organizers read the blind phase's
board; the team's page names the phases, the open one, and lists the entries per phase, the final
phase's as scored and blind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from challenges.phases import phase_create, phase_update
from scoring.models import SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.challenges_tests.factories import UserFactory
from tests.scoring_tests.factories import csv_bytes, predictions_frame
from tests.support.browser import login
from tests.support.screenshots import VIEWPORT, manual_screenshot

from .board_states import PASSWORD, TEAMS, scored_board

pytestmark = [pytest.mark.browser]


def test_a_board_per_phase_and_the_team_page_with_phases(live_server, browser, tmp_path):
    cache.clear()
    task, owls = scored_board(tmp_path)  # four teams' entries, in the one phase
    challenge = task.track.challenge
    organizer = UserFactory(username="org", is_staff=True)
    now = timezone.now()
    phase_update(
        phase=challenge.phases.get(),
        actor=organizer,
        values={"slug": "dev", "title": "Development phase", "end": now + timedelta(days=1)},
        reason="a development phase, then a blind final phase",
    )
    final = phase_create(
        challenge=challenge,
        actor=organizer,
        values={
            "slug": "final",
            "title": "Final phase",
            "start": now + timedelta(days=1),
            "end": now + timedelta(days=15),
            "feedback": "blind",
            "final": True,
        },
        reason="a development phase, then a blind final phase",
    )
    visitor = browser.new_context(viewport=VIEWPORT)
    try:
        page = visitor.new_page()
        page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
        table = page.locator("table.leaderboard")
        for name in TEAMS:
            assert table.locator(f'tr[data-team="{name}"]').count() == 1, name
        manual_screenshot(page, "phases-board.png", tmp_path)

        # The final phase opens: the board ranks its entries, blind to a visitor.
        moved = timezone.now() - timedelta(seconds=5)
        phase_update(
            phase=challenge.phases.get(slug="dev"), actor=organizer, values={"end": moved},
            reason="the final phase opens",
        )  # fmt: skip
        phase_update(
            phase=final, actor=organizer, values={"start": moved}, reason="the final phase opens"
        )
        content = csv_bytes(predictions_frame(task, wrong=0.05, scores=True, seed=9))
        entry = submission_create(
            task=task, user=owls.uploaded_by, file=SimpleUploadedFile("final.csv", content)
        )
        solution_cache.items.clear()
        score_submission.run(submission_pk=entry.pk)
        entry.refresh_from_db()
        assert entry.status == SubmissionStatus.SCORED and entry.phase_id == final.pk
        cache.clear()
        page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/")
        board = page.locator("table.leaderboard")
        for name in TEAMS:
            assert board.locator(f'tr[data-team="{name}"]').count() == 0, name
        assert page.locator("#blind-phase-note").count() == 1
        # The selector reads the development phase's board: its own entries, as they were.
        page.locator('#phase-selector a[data-phase="dev"]').click()
        page.wait_for_url("**phase=dev**")
        board = page.locator("table.leaderboard")
        for name in TEAMS:
            assert board.locator(f'tr[data-team="{name}"]').count() == 1, name
        selected = page.locator("#phase-selector [aria-current=page]")
        assert selected.get_attribute("data-phase") == "dev"
        manual_screenshot(page, "phases-board-selector.png", tmp_path)
    finally:
        visitor.close()

    # The organizers read the blind phase's board: the final phase's entry, ranked.
    staff = browser.new_context(viewport=VIEWPORT)
    try:
        page = staff.new_page()
        organizer.set_password(PASSWORD)
        organizer.save()
        login(page, live_server.url, "org", PASSWORD)
        page.goto(f"{live_server.url}/tasks/{task.slug}/leaderboard/?phase=final")
        board = page.locator("table.leaderboard")
        assert board.locator('tr[data-team="Owls"]').count() == 1
        assert page.locator("#blind-phase-note").count() == 0
    finally:
        staff.close()

    member = browser.new_context(viewport=VIEWPORT)
    try:
        page = member.new_page()
        login(page, live_server.url, "owls", PASSWORD)
        page.goto(f"{live_server.url}/teams/{owls.team_id}/")
        phases = page.locator("#phases")
        assert "Final phase" in phases.locator("li.current-phase").inner_text()
        assert page.locator("h3.phase-entries").all_inner_texts() == [
            "Final phase",
            "Development phase",
        ]
        assert page.locator(".blind-score").count() == 1
        page.locator("#phases").scroll_into_view_if_needed()
        manual_screenshot(page.locator("main"), "phases-team.png", tmp_path)
    finally:
        member.close()
