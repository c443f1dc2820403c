"""The task page in a real Chromium: the dataset card renders, downloads need a login."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets.core import read_standard_csv
from tests.datasets_tests.factories import UserFactory, imported_task
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_task_page_shows_the_dataset_card(live_server, browser_page, tmp_path: Path) -> None:
    task = imported_task(tmp_path, kind="matching", challenge_slug="cup", track_slug="pairs")
    page = browser_page

    page.goto(f"{live_server.url}/tasks/{task.slug}/")

    assert page.locator("h1").inner_text() == "Demo matching"
    assert page.locator(".description strong").inner_text() == "matching"
    card = page.get_by_test_id("dataset-card")
    assert card.is_visible()
    assert card.locator("h2").inner_text() == "Dataset card"
    stats = card.locator(".stats").inner_text()
    assert "60\ntraining rows" in stats and "30\ntest rows" in stats
    assert "33.3%\nof training pairs match" in stats
    columns = card.locator("table.columns tbody tr")
    assert columns.count() == 2 + 6  # id, label and the six left_/right_ columns
    assert "left_price\tnumeric" in columns.nth(2).inner_text()
    balance = card.locator("table.class-balance tbody tr")
    assert balance.count() == 2
    bars = card.locator("table.class-balance .bar")
    widths = [bars.nth(i).bounding_box()["width"] for i in range(2)]
    assert widths[0] > widths[1] > 0  # 40 non-matches, 20 matches: the bar is drawn to scale
    assert abs(widths[1] / widths[0] - 0.5) < 0.05
    assert card.locator("table.examples tbody tr").count() == 5
    assert page.get_by_text("Log in to download").is_visible()
    assert page.locator("a[href$='/files/train.csv']").count() == 0


def test_a_logged_in_participant_downloads_from_the_page(
    live_server, browser_page, tmp_path: Path
) -> None:
    task = imported_task(tmp_path)
    UserFactory(username="alice")
    page = browser_page

    login(page, live_server.url, "alice", "pw-for-tests")
    page.goto(f"{live_server.url}/tasks/{task.slug}/")
    with page.expect_download() as info:
        page.locator("a[href$='/files/train.csv']").click()
    download = info.value
    assert download.suggested_filename == "demo-classification-train.csv"
    saved = tmp_path / "got.csv"
    download.save_as(saved)
    frame = read_standard_csv(saved, task.meta)
    assert list(frame.columns) == ["id", "title", "price", "color", "label"]
    assert len(frame) == 60
    assert page.locator("a[href$='/files/solution.parquet']").count() == 0


def test_the_page_links_the_croissant_a_logged_in_reader_gets_with_its_files(
    live_server, browser_page, tmp_path: Path
) -> None:
    import json

    task = imported_task(tmp_path)
    UserFactory(username="alice")
    page = browser_page

    page.goto(f"{live_server.url}/tasks/{task.slug}/")
    versions = page.locator("#data-versions")
    assert "Data versions (1)" in versions.locator("summary").inner_text()
    page.get_by_role("link", name="Croissant description").click()
    public = json.loads(page.locator("body").inner_text())
    assert public["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert "distribution" not in public  # not logged in: the card alone

    login(page, live_server.url, "alice", "pw-for-tests")
    page.goto(f"{live_server.url}/tasks/{task.slug}/")
    page.get_by_role("link", name="Croissant description").click()
    described = json.loads(page.locator("body").inner_text())
    assert {f["name"] for f in described["distribution"]} >= {"train.csv", "test.parquet"}
    assert [r["@id"] for r in described["recordSet"]] == ["train", "test"]
