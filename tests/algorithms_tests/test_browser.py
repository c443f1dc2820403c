"""In a real Chromium: upload an algorithm through the page, press "run on every task of the
track", and watch the run turn ``succeeded`` without a reload once a worker comes up."""

from __future__ import annotations

import re

import pytest

from algorithms.models import AlgorithmRun
from testkit.archives import algorithm_zip
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.celery_worker, pytest.mark.slow]


def test_upload_run_track_and_live_status(
    live_server, browser_page, world, algorithms_worker_factory, tmp_path
):
    page = browser_page
    archive = tmp_path / "honest.zip"
    archive.write_bytes(algorithm_zip())
    login(page, live_server.url, "ada", "pw-for-tests")
    page.goto(f"{live_server.url}/algorithms/")
    page.select_option("select[name=challenge]", world.challenge.slug)
    page.set_input_files("input[name=file]", str(archive))
    page.click("form[action$='/algorithms/upload/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/algorithms/\d+/$"))
    assert page.locator("h1").inner_text() == "Honest"
    assert page.locator(".description em").inner_text() == "simple"  # Markdown, sanitized
    assert page.locator(".description script").count() == 0

    track = world.classification.track
    page.click(f"button[data-role=run-track]:has-text('{track.title}')")
    page.wait_for_url(re.compile(r"/algorithms/\d+/$"))
    run = AlgorithmRun.objects.get()
    row = page.locator(f'tr[data-run-id="{run.pk}"]')
    assert row.locator('[data-role="status"]').inner_text() == "queued"
    page.evaluate("window.notReloaded = true")

    algorithms_worker_factory()  # only now can it run
    row.locator(".badge.succeeded").wait_for(timeout=120_000)
    assert page.evaluate("window.notReloaded === true"), "updated in place, not reloaded"
    run.refresh_from_db()
    assert row.locator('[data-role="seconds"]').inner_text() == f"{run.seconds:.1f}"
    assert row.locator('[data-role="submission"] a').inner_text() == f"#{run.submission_id}"
