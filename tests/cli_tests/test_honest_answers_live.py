"""Issue 38, live: a small track where the data cannot support every interval. The transfer
API and page give null and the reason in words (Chromium), the track page draws the
critical-difference diagram and the pairwise table, and ``chal leaderboard --pairwise``
prints the verdicts the API sends.

The world: three algorithms on three tasks, the owls contributing t-one and the hawks t-two;
the crows' algorithm ran t-one only. Seven cells leave the two-way model 2 residual degrees
of freedom (its intervals are given); a home advantage per team takes them both, so the
home advantages get none, with the reason.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from algorithms.models import AlgorithmRun
from leaderboard.core.benchmark.pairwise import GROUP_METHOD
from tests.leaderboard_tests.benchmark_world import bench_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _world(tmp_path):
    world = bench_world(tmp_path)
    AlgorithmRun.objects.filter(
        version__algorithm=world.algorithms["crows"], task__slug__in=["t-two", "t-three"]
    ).delete()
    return world


def test_null_with_reason_the_cd_diagram_pairwise_table_and_cli_verdicts(
    tmp_path, live_server, browser_page, broker, chal
):
    world = _world(tmp_path)
    slug = world.track.slug

    transfer = APIClient().get(f"/api/v1/tracks/{slug}/transfer/").json()["decomposition"]
    assert transfer["residual_df"] == 2 and transfer["model"] == "two-way-ols"
    assert transfer["home_residual_df"] == 0
    assert transfer["noise_share"] is not None and transfer["noise_share_reason"] is None
    assert all(e["ci"] is not None for e in transfer["algorithm_effects"])
    homes = transfer["home_advantage"]
    assert {h["team"] for h in homes} == {"owls", "hawks"}
    for home in homes:
        assert home["value"] is not None and home["ci"] is None
        assert "0 residual degrees of freedom" in home["reason"]

    browser_page.goto(f"{live_server.url}/tracks/{slug}/transfer/")
    declined = browser_page.locator('#home-advantage [data-role="no-interval"]')
    assert declined.count() == 2
    assert "0 residual degrees of freedom" in declined.first.inner_text()
    assert (
        browser_page.locator('#decomposition-model [data-role="residual-df"]').inner_text() == "2"
    )
    assert browser_page.locator("#noise-share").is_visible()

    board = APIClient().get(f"/api/v1/tracks/{slug}/leaderboard/").json()
    assert board["group_method"] == GROUP_METHOD and len(board["pairwise"]) == 3
    browser_page.goto(f"{live_server.url}/tracks/{slug}/")
    diagram = browser_page.locator("#cd-diagram svg")
    assert diagram.is_visible()
    box = diagram.bounding_box()
    assert box["width"] > 300 and box["height"] > 80
    assert browser_page.locator("#cd-diagram svg polyline.team").count() == 3
    # each pair has its own interval width: no one critical-difference bar for all
    assert browser_page.locator("#cd-diagram svg line.critical-difference").count() == 0
    for line in browser_page.locator("#cd-diagram svg polyline.team").all():
        part = line.bounding_box()
        assert box["x"] <= part["x"] and part["x"] + part["width"] <= box["x"] + box["width"]
    rows = browser_page.locator("#pairwise tbody tr")
    assert rows.count() == 3
    shown = {
        (r.locator("td").nth(0).inner_text(), r.locator("td").nth(1).inner_text()): r.locator(
            '[data-role="verdict"]'
        ).inner_text()
        for r in rows.all()
    }
    assert shown == {(p["a"], p["b"]): p["verdict"] for p in board["pairwise"]}
    for row in rows.all():  # the verdict in a sentence that says what it means
        a, b = row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()
        words = row.locator('[data-role="verdict-words"]').inner_text()
        assert a in words and b in words and "on tasks like these" in words
    assert (
        "from its own 3 per-task differences"
        in browser_page.locator("#pairwise-basis").inner_text()
    )

    printed = chal("leaderboard", slug, "--pairwise", "--server", live_server.url)
    assert printed.code == 0, printed.err
    text = printed.out
    assert f"Pairwise comparisons ({GROUP_METHOD}; equivalent within ±0.005):" in text
    assert "How: each pair's interval comes from its own 3 per-task differences" in text
    lines = text.split("Pairwise comparisons", 1)[1].splitlines()
    for pair in board["pairwise"]:
        line = next(line for line in lines if line.split()[:2] == [pair["a"], pair["b"]])
        cells = line.split()
        assert cells[-1] == pair["verdict"]
        assert f"{pair['difference']:.4f}" in cells
        assert f"[{pair['ci'][0]:.4f}," in line
