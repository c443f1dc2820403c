"""The run page's live log, in a real Chromium: it follows the run, then shows the result."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from algorithms.models import AlgorithmRunStatus, BaselineRun
from tests.support.baseline_runs import make_run
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_log_tail_refreshes_while_running_and_the_page_reloads_when_done(
    live_server, browser_page, organizer, classification_task
):
    run = make_run(
        classification_task,
        status=AlgorithmRunStatus.RUNNING,
        log_tail="Fitting model: LightGBM ...",
    )
    page = browser_page
    login(page, live_server.url, "org", "pw-for-tests")
    page.goto(live_server.url + reverse("admin:algorithms_baselinerun_change", args=[run.pk]))
    log = page.locator("#baseline-log")
    assert log.inner_text() == "Fitting model: LightGBM ..."
    assert page.locator("#baseline-status").inner_text() == "Running"

    BaselineRun.objects.filter(pk=run.pk).update(
        log_tail="Fitting model: LightGBM ...\nFitting model: CatBoost ..."
    )
    expect(log).to_contain_text("CatBoost", timeout=10_000)
    BaselineRun.objects.filter(pk=run.pk).update(
        status=AlgorithmRunStatus.CANCELLED, error="cancelled while running (after 7 s)"
    )
    # The script reloads the page once the run has ended; only the reload shows the new status.
    expect(page.locator("#baseline-status")).to_have_text("Cancelled", timeout=10_000)
    assert "cancelled while running (after 7 s)" in page.locator("#baseline-message").inner_text()
    assert page.locator("button", has_text="Run baseline again").count() == 1
    assert page.locator("button", has_text="Cancel").count() == 0
