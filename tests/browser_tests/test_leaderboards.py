"""Public pages in Chromium: the track standings, a task leaderboard with its history chart
and CSV export, and the private board an organizer reveals from the admin console."""

from __future__ import annotations

import csv
import io

import pytest

from leaderboard.refresh import task_leaderboard_refresh
from tests.challenges_tests.factories import PASSWORD, ChallengeFactory, TrackFactory, UserFactory
from tests.leaderboard_tests.factories import make_task, make_team, scored
from tests.support.browser import login

pytestmark = [pytest.mark.browser]


@pytest.fixture
def board():
    """Two tasks of one track; on "Shapes" the private rows reorder Owls and Hawks."""
    challenge = ChallengeFactory(title="Spring cup")
    track = TrackFactory(challenge=challenge, slug="kway", title="K-way Classification")
    shapes = make_task(track, slug="shapes")
    colors = make_task(track, slug="colors")
    baseline = make_team(challenge, "AutoGluon baseline", baseline=True)
    owls, hawks, crows = (make_team(challenge, n) for n in ("Owls", "Hawks", "Crows"))
    scored(shapes, baseline, 0.70, 0.71, minutes=0)
    scored(shapes, owls, 0.90, 0.80, minutes=10)
    scored(shapes, hawks, 0.88, 0.91, minutes=15)
    scored(shapes, owls, 0.85, 0.86, minutes=20)
    scored(shapes, crows, 0.60, 0.62, minutes=30)
    scored(colors, baseline, 0.50, 0.50, minutes=0)
    scored(colors, owls, 0.75, 0.70, minutes=5)
    scored(colors, hawks, 0.65, 0.66, minutes=6)
    for task in (shapes, colors):
        task_leaderboard_refresh(task_id=task.pk, bootstrap=False)
    return {"challenge": challenge, "track": track, "shapes": shapes}


def board_rows(page) -> list[list[str]]:
    rows = page.locator("table.leaderboard:not(#pairwise) tbody tr")  # the board, not the pairs
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_track_standings_task_board_history_chart_and_csv(live_server, browser_page, board):
    page = browser_page  # anonymous: the public boards need no login
    page.goto(f"{live_server.url}/tracks/kway/")

    assert page.locator("h1").inner_text() == "K-way Classification — public standings"
    rows = board_rows(page)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("1", "Owls", "0.8250"),
        ("2", "Hawks", "0.7650"),
        ("—", "AutoGluon baseline baseline", "0.6000"),
        ("3", "Crows", "0.3000"),
    ]
    assert rows[3][3:5] == ["missing", "0.6000 (#3)"]  # no Colors submission: it counts 0
    # then who is first (docs/architecture.md §12): P(first) with the group, the rank
    # interval; none for the baseline, and the ranked teams' shares sum to 1
    assert rows[2][5:] == ["—", "—"]
    shares = [float(r[5].split()[0]) for r in rows if r[0] != "—"]
    assert sum(shares) == pytest.approx(1.0, abs=0.002) and shares[0] == max(shares)
    # Two tasks, one of them missing a team: too few to measure how teams vary from task to
    # task, so the groups and rank intervals are declined, and the page says why.
    assert "group" not in rows[0][5] and rows[0][6] == "—"
    assert page.locator("#group-reason").inner_text().startswith("No groups, rank intervals")
    assert "+0.2000" in page.locator("#cross-task").inner_text()  # Owls on Shapes vs baseline

    page.get_by_role("link", name="Shapes").click()
    page.wait_for_url(f"{live_server.url}/tasks/shapes/leaderboard/")
    assert page.locator("h1").inner_text() == "Shapes — public leaderboard"
    names = page.locator("table.leaderboard tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    assert names == ["Owls", "Hawks", "AutoGluon baseline", "Crows"]
    chart = page.locator(".chart svg")
    assert chart.get_attribute("aria-label") == "Shapes: best public accuracy over time"
    assert chart.locator("g > path").count() == 4  # one step line per team, baseline included
    assert chart.locator("path[stroke-dasharray]").count() == 1  # the baseline, dashed
    box = chart.bounding_box()
    assert box["width"] > 400 and box["height"] > 200

    with page.expect_download() as info:
        page.locator("#csv-export").click()
    download = info.value
    assert download.suggested_filename == "shapes-public-leaderboard.csv"
    path = download.path()
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [(r["position"], r["rank"], r["team"], r["score"]) for r in records] == [
        ("1", "1", "Owls", "0.9"),
        ("2", "2", "Hawks", "0.88"),
        ("3", "", "AutoGluon baseline", "0.7"),
        ("4", "3", "Crows", "0.6"),
    ]
    assert [r["is_baseline"] for r in records] == ["False", "False", "True", "False"]
    assert [r["submissions"] for r in records] == ["2", "1", "1", "1"]


def test_an_organizer_reveals_the_private_board_and_anyone_sees_it(
    live_server, browser_page, new_page, board
):
    UserFactory(username="org", is_staff=True, is_superuser=True)
    visitor = browser_page
    private_url = f"{live_server.url}/tasks/shapes/leaderboard/?split=private"
    assert visitor.goto(private_url).status == 404
    visitor.goto(f"{live_server.url}/tasks/shapes/leaderboard/")
    assert visitor.get_by_role("link", name="Show the private board").count() == 0

    organizer = new_page()
    login(organizer, live_server.url, "org", PASSWORD)
    organizer.goto(f"{live_server.url}/admin/challenges/challenge/")
    organizer.check(f'input[name="_selected_action"][value="{board["challenge"].pk}"]')
    organizer.select_option("select[name=action]", "reveal_private")
    organizer.get_by_role("button", name="Go").click()
    organizer.wait_for_load_state()
    assert "Private leaderboards revealed for 1 challenge(s)." in (
        organizer.locator(".messagelist").inner_text()
    )
    board["challenge"].refresh_from_db()
    assert board["challenge"].private_revealed

    assert visitor.goto(private_url).status == 200
    assert visitor.locator("h1").inner_text() == "Shapes — private leaderboard"
    rows = board_rows(visitor)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("1", "Hawks", "0.9100"),
        ("2", "Owls", "0.8600"),  # its better private score among its two best public files
        ("—", "AutoGluon baseline baseline", "0.7100"),
        ("3", "Crows", "0.6200"),
    ]
    visitor.get_by_role("link", name="Show the public board").click()
    assert visitor.locator("h1").inner_text() == "Shapes — public leaderboard"


def test_the_home_page_names_every_kind_of_task_the_challenges_have(live_server, browser_page):
    """Derived from the tasks there are (the kinds registry's labels), never a fixed list:
    a challenge with a regression task and a grouping task is introduced by those two."""
    track = TrackFactory(challenge=ChallengeFactory(slug="kinds-cup"), slug="mixed")
    make_task(track, slug="prices", kind="regression")
    make_task(track, slug="people", kind="grouping")
    browser_page.goto(f"{live_server.url}/")
    kinds = browser_page.locator('#intro [data-role="kinds"]')
    assert kinds.inner_text() == "record grouping and regression"
    make_task(track, slug="birds", kind="classification")
    make_task(track, slug="pairs", kind="matching")
    browser_page.reload()
    assert kinds.inner_text() == (
        "k-way classification, record matching, record grouping and regression"
    )
