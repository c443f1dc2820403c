"""The organizer uploads a broken bundle in the admin console and sees every problem, then a
good one, and the task exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from challenges.models import Challenge
from datasets.models import Task
from datasets.services import TaskImportError, task_import
from testkit.bundles import write_classification_bundle, zip_bundle
from tests.challenges_tests.factories import PASSWORD, UserFactory
from tests.support.browser import login

pytestmark = [pytest.mark.browser]


def broken_zip(folder: Path) -> Path:
    bundle = write_classification_bundle(
        folder / "broken",
        task={"slug": "Bad Slug", "kind": "forecasting"},
        train=lambda frame: frame.drop(columns="label"),
        files={"solution.csv": "id,label\nt0000,bird\n"},
    )
    (folder / "upload").mkdir()
    return zip_bundle(bundle, folder / "upload" / "broken.zip")


def test_a_broken_bundle_lists_every_problem_then_a_good_one_is_imported(
    live_server, browser_page, tmp_path
):
    UserFactory(username="org", is_staff=True, is_superuser=True)
    broken = broken_zip(tmp_path)
    with pytest.raises(TaskImportError) as refused:  # what the service says about it
        task_import(source=broken, challenge_slug="spring", track_slug="kway")
    expected = refused.value.problems
    assert len(expected) == 4
    good = zip_bundle(
        write_classification_bundle(tmp_path / "good", task={"slug": "shapes", "title": "Shapes"}),
        tmp_path / "shapes.zip",
    )
    page = browser_page

    login(page, live_server.url, "org", PASSWORD)
    page.goto(f"{live_server.url}/admin/datasets/task/")
    page.get_by_role("link", name="Add task").click()  # "Add" opens the bundle import form
    assert page.url == f"{live_server.url}/admin/datasets/task/import/"
    page.fill("#id_challenge_slug", "spring")
    page.fill("#id_challenge_title", "Spring cup")
    page.fill("#id_track_slug", "kway")
    page.set_input_files("#id_bundle", str(broken))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()

    note = page.locator(".errornote")
    assert "The bundle was not imported: 4 problems." in note.inner_text()
    listed = page.locator("ul.bundle-problems li").all_inner_texts()
    assert listed == expected
    for fragment in (
        "slug 'Bad Slug' is invalid",
        "kind must be one of classification, matching, not 'forecasting'",
        "train.csv: the 'label' column is missing",
        "test and solution ids differ",
    ):
        assert any(fragment in problem for problem in listed), fragment
    assert not Task.objects.exists() and not Challenge.objects.exists()

    # The slugs typed are kept; only the file is chosen again.
    assert page.input_value("#id_challenge_slug") == "spring"
    page.set_input_files("#id_bundle", str(good))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(f"{live_server.url}/admin/datasets/task/")
    message = page.locator(".messagelist .success").inner_text()
    assert "Imported the task Shapes (k-way classification, 60 train and 30 test rows)." in message
    assert page.locator("#result_list").get_by_role("link", name="Shapes").is_visible()
    task = Task.objects.select_related("track__challenge").get(slug="shapes")
    assert (task.track.slug, task.track.challenge.slug) == ("kway", "spring")
    assert task.track.challenge.title == "Spring cup"
    page.locator(".messagelist a", has_text="Shapes").click()
    assert page.locator("h1").inner_text() == "Shapes"
