"""What a participant reads on a ladder board's pages (issue 64's smaller things,
docs/organizers/ladder.md): the board keeps the robustness column, the references' and the
AutoGluon baseline's own and a team's entry "hidden", as the API keeps them; the submission
page, the board page, its champion table and its CSV print a shown score with the decimals it
has (0.62, never 0.620000 nor 0.6200) and the submission page never speaks of "0 public test
rows"."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.test import Client

from algorithms.services.builtin import baseline_team_get_or_create
from tests.leaderboard_tests.ladder_world import random_label_task, upload
from tests.scoring_tests.factories import ChallengeFactory, make_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def laddered(tmp_path):
    challenge = ChallengeFactory(slug="pages-cup", daily_submission_limit=100)
    planted = random_label_task(
        tmp_path, challenge="pages-cup", slug="pages", rows=4000, public_fraction=0.5,
        mode="ladder-step",
    )  # fmt: skip
    ours = make_participant(challenge, name="ours")
    rng = np.random.default_rng(3)
    wrong = np.where(planted.truth == "0", "1", "0")
    values = np.where(rng.random(planted.truth.size) < 0.62, planted.truth, wrong)
    upload(planted, baseline_team_get_or_create(challenge=challenge), wrong, tmp_path, "base")
    entry = upload(planted, ours.team, values, tmp_path, "ours")
    client = Client()
    client.force_login(ours.user)
    return planted, entry, client


def test_the_board_keeps_the_robustness_column_for_references_and_hides_a_teams(laddered):
    planted, _, client = laddered
    page = client.get(f"/tasks/{planted.task.slug}/leaderboard/").content.decode()
    assert 'data-column="robustness"' in page  # the column stays: references keep theirs
    assert 'data-state="hidden"' in page  # the team's entry: computed on the exact rows


def test_the_submission_page_prints_the_shown_score_with_its_decimals(laddered):
    planted, entry, client = laddered
    page = client.get(f"/submissions/{entry.pk}/").content.decode()
    assert "0 public test rows" not in page
    exact = entry.public_score
    shown = f"{round(exact, 2):.2f}"
    cells = re.findall(r'<td class="num">([0-9.]+)</td>', page)
    assert shown in cells, cells  # the primary metric's shown score, two decimals
    assert f"{round(exact, 2):.6f}" not in page and f"{exact:.6f}" not in page


def _row(page: str, team: str) -> str:
    return page.split(f'data-team="{team}"')[1].split("</tr>")[0]


def test_the_board_and_its_champion_table_print_a_shown_score_with_its_decimals(
    laddered, django_user_model
):
    """The team's row on the board page and in the "would this be a champion?" table: two
    decimals (2,000 public rows: a step of 0.01); the baseline's exact score keeps four, and
    an organizer's exact column too."""
    planted, entry, client = laddered
    shown = round(entry.public_score, 2)
    board = client.get(f"/tasks/{planted.task.slug}/leaderboard/").content.decode()
    cells = re.findall(r'<td class="num">([0-9.]+)</td>', _row(board, "ours"))
    assert f"{shown:.2f}" in cells and f"{shown:.4f}" not in cells, cells
    baseline = re.findall(r'<td class="num">([0-9.]+)</td>', _row(board, "AutoGluon baseline"))
    assert any(len(c.split(".")[-1]) == 4 for c in baseline if "." in c), baseline
    task_page = client.get(f"/tasks/{planted.task.slug}/").content.decode()
    verdicts = task_page.split('data-role="champion-verdicts"')[1].split("</table>")[0]
    assert f'<td class="num">{shown:.2f}</td>' in _row(verdicts, "ours"), verdicts
    organizer = django_user_model.objects.create_user("org", is_staff=True, is_superuser=True)
    staff = Client()
    staff.force_login(organizer)
    board = staff.get(f"/tasks/{planted.task.slug}/leaderboard/").content.decode()
    ours = _row(board, "ours")
    assert f">{shown:.2f}<" in ours and f">{entry.public_score:.4f}<" in ours, ours
    csv_text = client.get(f"/tasks/{planted.task.slug}/leaderboard.csv").content.decode()
    assert f",{shown!r}," in csv_text or f",{shown}," in csv_text, csv_text
    assert f"{shown:.4f}" not in csv_text
