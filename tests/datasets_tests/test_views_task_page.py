"""The task page: title, safe Markdown description, dataset card and download links."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.test import Client
from django.urls import resolve, reverse

from datasets.core import read_standard_csv
from datasets.models import Task
from tests.datasets_tests.factories import imported_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return imported_task(tmp_path, challenge_slug="cup", track_slug="kway", images=True)


def page(client: Client, slug: str = "demo-classification") -> str:
    response = client.get(f"/tasks/{slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_see_the_card_and_are_asked_to_log_in(client: Client, task) -> None:
    html = page(client)
    assert "<h1>Demo classification</h1>" in html
    assert "A small <strong>classification</strong> task for tests." in html
    assert 'data-testid="dataset-card"' in html
    assert "Log in to download" in html
    assert "/accounts/login/?next=/tasks/demo-classification/" in html
    assert "/files/" not in html


def test_the_card_shows_rows_columns_missing_share_and_class_balance(client: Client, task) -> None:
    html = page(client)
    assert '<b>60</b><span class="muted">training rows</span>' in html
    assert '<b>30</b><span class="muted">test rows</span>' in html
    # price has one missing value in 90 rows (train + test): 1.1 %
    assert (
        '<td><code>price</code></td>\n        <td>numeric</td>\n        <td class="num">1.1%</td>'
        in html
    )
    assert "<td><code>photo</code></td>\n        <td>image</td>" in html
    for name in ("bird", "cat", "dog"):
        assert f'<td><code>{name}</code></td>\n        <td class="num">20</td>' in html
    assert html.count('class="bar" width="100.0%"') == 3
    assert "quick quick item number 0" in html  # an example row


def test_years_and_ids_are_shown_as_in_the_data_without_thousands_separators(
    client: Client, task
) -> None:
    """A year is 1990, not "1,990": values from the data (a numeric column's range, example
    rows) are written as the data has them; only counts (rows, classes) are grouped."""
    card = dict(task.card)
    card["columns"] = [
        *card["columns"],
        {"name": "year", "type": "numeric", "missing_share": 0.0, "distinct": 26,
         "min": 1990.0, "mean": 2003.4, "max": 2015.0},
        {"name": "record_id", "type": "numeric", "missing_share": 0.0, "distinct": 90,
         "min": 100001.0, "mean": 154321.25, "max": 2000000.0},
    ]  # fmt: skip
    card["examples"] = [{**row, "year": 1990.0, "record_id": 123456} for row in card["examples"]]
    card["rows"] = {"train": 12000, "test": 3000}
    Task.objects.filter(pk=task.pk).update(card=card)
    html = page(client)
    assert "min 1990, mean 2003.4, max 2015" in html
    assert "min 100001, mean 154321, max 2000000" in html
    assert "<td>1990</td>" in html and "<td>123456</td>" in html
    for grouped in ("1,990", "2,015", "2,003", "123,456", "100,001", "2,000,000", "1990.0"):
        assert grouped not in html, grouped
    assert '<b>12,000</b><span class="muted">training rows</span>' in html  # a count


def test_logged_in_users_get_download_links(client: Client, participant, task) -> None:
    client.force_login(participant)
    html = page(client)
    for name in ("train.csv", "train.parquet", "test.csv", "test.parquet", "images.zip"):
        assert f'href="/tasks/demo-classification/files/{name}"' in html
    assert "solution.parquet" not in html
    assert "Log in to download" not in html


def test_organizers_also_get_the_solution_link(client: Client, organizer, task) -> None:
    client.force_login(organizer)
    assert 'href="/tasks/demo-classification/files/solution.parquet"' in page(client)


def test_the_description_is_sanitized(client: Client, task) -> None:
    task.description = (
        "# Hello\n\n<script>alert('x')</script>\n\n"
        '[click](javascript:alert(1)) <img src=x onerror="alert(2)"> '
        '<a href="https://example.com" onclick="evil()">ok</a>\n\n'
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    task.save()  # renders the description once (challenges.markdown)
    html = page(client)
    assert "<h1>Hello</h1>" in html
    assert "<script>alert" not in html
    assert "javascript:" not in html
    assert "onerror" not in html and "onclick" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in html
    assert "<td>1</td>" in html  # tables (GitHub's pipe tables) survive


def test_an_unknown_task_is_404(client: Client) -> None:
    assert client.get("/tasks/nope/").status_code == 404


def test_the_page_composes_card_submit_panel_and_board_under_its_old_name(
    client: Client, task
) -> None:
    """The page is composed in leaderboard (it knows the submit panel and the board); its URL
    and name are the datasets' ones still."""
    assert reverse("datasets:task-detail", args=[task.slug]) == f"/tasks/{task.slug}/"
    assert resolve(f"/tasks/{task.slug}/").view_name == "datasets:task-detail"
    assert reverse("datasets:task-file", args=[task.slug, "train.csv"]) == (
        f"/tasks/{task.slug}/files/train.csv"
    )
    html = page(client)
    card = html.index('data-testid="dataset-card"')
    assert card < html.index('id="submit"') < html.index('id="leaderboard-summary"')


def test_page_downloads_stream_for_logged_in_users(client: Client, participant, task) -> None:
    client.force_login(participant)
    response = client.get("/tasks/demo-classification/files/train.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="demo-classification-train.csv"'
    frame = read_standard_csv(io.BytesIO(b"".join(response.streaming_content)), task.meta)
    assert list(frame.columns) == ["id", "title", "price", "color", "photo", "label"]
    assert len(frame) == 60


def test_page_downloads_send_anonymous_users_to_log_in(client: Client, task) -> None:
    response = client.get("/tasks/demo-classification/files/train.csv")
    assert response.status_code == 302
    assert response["Location"] == (
        "/accounts/login/?next=/tasks/demo-classification/files/train.csv"
    )
