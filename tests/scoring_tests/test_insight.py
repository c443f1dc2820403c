"""Submission insight (issue 7): flips against the baseline and the previous best, the plot,
and the final selection, on real imported tasks scored by the real scoring task body.

The flip case is counted by hand. With ``P`` the public test ids and ``Q`` the private ones,
in the solution's row order, every file is right everywhere except:

    previous (the team's first file)   wrong on P0 P1 Q0
    new      (the team's second file)  wrong on P1 P2 P3 Q1
    baseline (the baseline team)       wrong on P4 Q2 Q3

so, new against previous: fixed P0 (+ Q0), broken P2 P3 (+ Q1), both wrong P1;
new against the baseline: fixed P4 (+ Q2 Q3), broken P1 P2 P3 (+ Q1).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from challenges.models import Team
from leaderboard.models import LeaderboardEntry, Split
from scoring.insight import (
    submission_final_selection,
    submission_flip_references,
    submission_insight,
)
from scoring.models import Submission, SubmissionStatus
from scoring.services.finals import submission_final_set
from scoring.services.upload import SubmissionRefused, submission_create
from tests.scoring_tests.factories import (
    UserFactory,
    make_participant,
    solution_frame,
    upload,
)

from .insight_helpers import client_for, scored, wrong_on

pytestmark = pytest.mark.django_db


# --- helpers ------------------------------------------------------------------------------


def split_ids(task) -> tuple[list[str], list[str]]:
    truth = solution_frame(task)
    return (
        truth.loc[truth.split == "public", "id"].tolist(),
        truth.loc[truth.split == "private", "id"].tolist(),
    )






def baseline_submission(task, content: bytes) -> Submission:
    """What the baseline runner stores: the baseline team's file, queued, no uploader."""
    team, _ = Team.objects.get_or_create(
        challenge=task.track.challenge, is_baseline=True, defaults={"name": "AutoGluon baseline"}
    )
    submission = Submission(task=task, team=team, file_format="csv", file_size=len(content))
    submission.file.save("baseline.csv", ContentFile(content), save=False)
    submission.status_changed_at = timezone.now()
    submission.save()
    return scored(submission)


def show_flip_examples(task) -> None:
    """Example ids next to flips are hidden while a challenge runs unless its organizers
    show them (``test_references.py`` covers the option itself)."""
    challenge = task.track.challenge
    challenge.flip_examples = "shown"
    challenge.save(update_fields=["flip_examples"])




def flip_numbers(page: str, reference: str) -> dict[str, list[str]]:
    """The words of each ``data-role`` in the flips table's cells of one reference."""
    table = re.search(r'<table class="flips">.*?</table>', page, re.S).group(0)
    cells = re.findall(rf'<td data-reference="{reference}">(.*?)</td>', table, re.S)
    assert len(cells) == 3, cells
    roles = re.findall(
        r'data-role="([a-z-]+)">((?:<code>[^<]*</code>\s*|[^<]*)*)</span>', "".join(cells)
    )
    return {role: re.sub(r"<[^>]+>", " ", value).split() for role, value in roles}


@pytest.fixture
def flip_case(module_tasks):
    """The hand-counted case above on the module's classification task."""
    task = module_tasks["classification"]
    public, private = split_ids(task)
    assert len(public) >= 5 and len(private) >= 4
    P, Q = public, private
    alice = make_participant(task.track.challenge, username="alice", name="Owls")
    show_flip_examples(task)
    baseline = baseline_submission(task, wrong_on(task, {P[4], Q[2], Q[3]}))
    previous = scored(
        submission_create(
            task=task, user=alice.user, file=upload(wrong_on(task, {P[0], P[1], Q[0]}))
        )
    )
    new = scored(
        submission_create(
            task=task, user=alice.user, file=upload(wrong_on(task, {P[1], P[2], P[3], Q[1]}))
        )
    )
    return {
        "task": task,
        "P": P,
        "Q": Q,
        "alice": alice,
        "baseline": baseline,
        "previous": previous,
        "new": new,
    }


# --- flips --------------------------------------------------------------------------------


def test_the_references_are_the_baseline_best_and_the_team_previous_best(flip_case):
    refs = submission_flip_references(submission=flip_case["new"])
    assert refs == {"baseline": flip_case["baseline"], "previous": flip_case["previous"]}
    # The first submission has no earlier one of its own.
    first = submission_flip_references(submission=flip_case["previous"])
    assert first == {"baseline": flip_case["baseline"], "previous": None}


def test_a_participant_sees_hand_counted_flips_on_the_public_rows(flip_case):
    P, alice = flip_case["P"], flip_case["alice"]
    insight = submission_insight(submission=flip_case["new"], user=alice.user)

    assert (insight.rows, insight.n_rows) == ("public", len(P))
    by_key = {c.key: c for c in insight.comparisons}
    previous, baseline = by_key["previous"], by_key["baseline"]
    assert previous.reference == flip_case["previous"]
    assert (previous.report.positive, previous.report.negative) == (1, 2)
    assert (previous.report.both_wrong, previous.report.both_right) == (1, len(P) - 4)
    assert previous.report.negative_share == pytest.approx(2 / len(P))
    assert (previous.positive_ids, previous.negative_ids) == ([P[0]], [P[2], P[3]])
    assert (baseline.report.positive, baseline.report.negative) == (1, 3)
    assert (baseline.positive_ids, baseline.negative_ids) == ([P[4]], [P[1], P[2], P[3]])
    assert baseline.report.n_rows == len(P)


def test_the_page_shows_the_same_numbers_and_never_a_private_id(flip_case):
    P, Q = flip_case["P"], flip_case["Q"]
    new = flip_case["new"]
    page = client_for(flip_case["alice"].user).get(f"/submissions/{new.pk}/").content.decode()

    previous = flip_numbers(page, "previous")
    assert previous["positive"] == ["1"] and previous["negative"] == ["2"]
    assert previous["positive-examples"] == [P[0]]
    assert previous["negative-examples"] == [P[2], P[3]]
    assert previous["negative-share"] == [f"{2 / len(P) * 100:.1f}%"]
    baseline = flip_numbers(page, "baseline")
    assert baseline["positive"] == ["1"] and baseline["negative"] == ["3"]
    assert baseline["negative-examples"] == [P[1], P[2], P[3]]
    assert f"the {len(P)} public test rows" in page
    for private_id in Q:
        assert private_id not in page, f"private id {private_id} leaked"
    # The confusion matrix is of the public rows: its cells add up to the public rows.
    assert f"On the {len(P)} public test rows: true classes in rows" in page
    cells = [int(n) for n in re.findall(r"predicted [^:]+: (\d+) \(", page)]
    assert sum(cells) == len(P) and len(cells) == len(flip_case["task"].classes) ** 2


def test_organizers_and_everyone_after_the_reveal_see_every_row(flip_case):
    P, Q, new = flip_case["P"], flip_case["Q"], flip_case["new"]
    organizer = UserFactory(username="org", is_staff=True)
    insight = submission_insight(submission=new, user=organizer)
    by_key = {c.key: c for c in insight.comparisons}
    assert (insight.rows, insight.n_rows) == ("all", len(P) + len(Q))
    assert (by_key["previous"].report.positive, by_key["previous"].report.negative) == (2, 3)
    assert (by_key["baseline"].report.positive, by_key["baseline"].report.negative) == (3, 4)
    assert set(by_key["previous"].positive_ids) == {P[0], Q[0]}
    assert set(by_key["baseline"].negative_ids) == {P[1], P[2], P[3], Q[1]}

    challenge = flip_case["task"].track.challenge
    challenge.private_revealed = True
    challenge.save()
    new.refresh_from_db()
    page = client_for(flip_case["alice"].user).get(f"/submissions/{new.pk}/").content.decode()
    assert flip_numbers(page, "previous")["negative"] == ["3"]
    assert Q[1] in page and f"On all {len(P) + len(Q)} test rows: true classes in rows" in page


def test_a_matching_file_with_scores_gets_the_threshold_chart(module_tasks):
    task = module_tasks["matching"]
    P, Q = split_ids(task)
    bob = make_participant(task.track.challenge, username="bob")
    show_flip_examples(task)
    with_score = scored(
        submission_create(
            task=task, user=bob.user, file=upload(wrong_on(task, {P[0], Q[0]}, score=True))
        )
    )
    labels_only = scored(
        submission_create(task=task, user=bob.user, file=upload(wrong_on(task, {P[1]})))
    )

    page = client_for(bob.user).get(f"/submissions/{with_score.pk}/").content.decode()
    assert 'data-role="threshold-chart"' in page
    assert 'aria-label="Precision and recall against the threshold"' in page
    assert f"On the {len(P)} public test rows: true classes" in page
    assert 'data-role="confusion-matrix"' in page and "1 (match)" in page
    page = client_for(bob.user).get(f"/submissions/{labels_only.pk}/").content.decode()
    assert 'data-role="threshold-chart"' not in page
    assert 'data-role="confusion-matrix"' in page
    # Against its previous best: P0 fixed, P1 broken (the matching labels flip 0 <-> 1).
    numbers = flip_numbers(page, "previous")
    assert (numbers["positive"], numbers["negative"]) == (["1"], ["1"])
    assert numbers["positive-examples"] == [P[0]] and numbers["negative-examples"] == [P[1]]
    assert "No scored baseline submission on this task yet." in page


def test_no_insight_while_pending_or_failed(module_tasks):
    task = module_tasks["classification"]
    carol = make_participant(task.track.challenge, username="carol")
    pending = submission_create(task=task, user=carol.user, file=upload(b"id,label\nx,y\n"))
    assert submission_insight(submission=pending, user=carol.user) is None
    page = client_for(carol.user).get(f"/submissions/{pending.pk}/").content.decode()
    assert 'id="flips"' not in page and 'id="final-selection"' not in page


# --- final selection ----------------------------------------------------------------------


def make_scored(task, team, public: float, private: float, minutes: int) -> Submission:
    submission = Submission.objects.create(
        task=task,
        team=team,
        file="x.csv",
        status=SubmissionStatus.SCORED,
        status_changed_at=timezone.now(),
        public_score=public,
        private_score=private,
        scores={"public": {"accuracy": public}, "private": {"accuracy": private}},
    )
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)
    )
    submission.refresh_from_db()
    return submission


@pytest.fixture
def three(module_tasks):
    task = module_tasks["classification"]
    dave = make_participant(task.track.challenge, username="dave")
    subs = [
        make_scored(task, dave.team, public, private, minutes)
        for minutes, (public, private) in enumerate([(0.9, 0.5), (0.8, 0.7), (0.6, 0.95)])
    ]
    return task, dave, subs


def private_entry(task, team) -> LeaderboardEntry:
    return LeaderboardEntry.objects.get(task=task, team=team, split=Split.PRIVATE)


def test_a_team_marks_up_to_the_limit_and_the_private_board_follows(three):
    task, dave, (a, b, c) = three
    assert task.track.challenge.max_final_selections == 2

    submission_final_set(submission=c, user=dave.user, final=True)
    # Only c is final: the private board ranks it, not the best public ones (a, b).
    assert private_entry(task, dave.team).submission_id == c.pk
    submission_final_set(submission=a, user=dave.user, final=True)
    assert private_entry(task, dave.team).submission_id == c.pk  # 0.95 beats 0.5

    with pytest.raises(SubmissionRefused) as refused:
        submission_final_set(submission=b, user=dave.user, final=True)
    assert refused.value.code == "final_limit"
    assert refused.value.message == (
        f"Your team already has 2 final submissions for this task (#{a.pk}, #{c.pk}); "
        "unmark one before choosing another."
    )
    assert sorted(Submission.objects.filter(is_final=True).values_list("pk", flat=True)) == [
        a.pk,
        c.pk,
    ]

    submission_final_set(submission=c, user=dave.user, final=False)
    assert private_entry(task, dave.team).submission_id == a.pk
    submission_final_set(submission=b, user=dave.user, final=True)
    assert private_entry(task, dave.team).submission_id == b.pk  # 0.7 beats 0.5
    state = submission_final_selection(submission=c, user=dave.user)
    assert (state.selected, state.can_change) == ([a.pk, b.pk], False)
    assert "already has 2 final submissions" in state.reason


def test_only_members_of_an_open_challenge_choose_scored_finals(three):
    task, dave, (a, b, c) = three
    outsider = make_participant(task.track.challenge, username="erin")
    with pytest.raises(SubmissionRefused) as refused:
        submission_final_set(submission=a, user=outsider.user, final=True)
    assert refused.value.code == "not_member"

    failed = Submission.objects.create(
        task=task, team=dave.team, file="x.csv", status=SubmissionStatus.FAILED, error="bad"
    )
    with pytest.raises(SubmissionRefused) as refused:
        submission_final_set(submission=failed, user=dave.user, final=True)
    assert refused.value.code == "not_scored"

    challenge = task.track.challenge
    challenge.end = timezone.now() - timedelta(minutes=1)
    challenge.start = challenge.end - timedelta(days=2)
    challenge.save()
    a.refresh_from_db()
    with pytest.raises(SubmissionRefused) as refused:
        submission_final_set(submission=a, user=dave.user, final=True)
    assert refused.value.code == "closed"
    assert not Submission.objects.filter(is_final=True).exists()


def test_the_toggle_on_the_page_marks_and_refuses_with_a_plain_message(three):
    task, dave, (a, b, c) = three
    client = client_for(dave.user)
    page = client.get(f"/submissions/{a.pk}/").content.decode()
    assert f'action="/submissions/{a.pk}/final/"' in page and "Mark as final" in page

    for sub in (a, b):
        response = client.post(f"/submissions/{sub.pk}/final/", {"final": "1"}, follow=True)
        assert response.redirect_chain == [(f"/submissions/{sub.pk}/", 302)]
        assert "is now final" in response.content.decode()
    response = client.post(f"/submissions/{c.pk}/final/", {"final": "1"}, follow=True)
    page = response.content.decode()
    assert "already has 2 final submissions for this task" in page
    assert 'data-role="final-toggle"' not in page  # the full selection hides the button
    assert not Submission.objects.get(pk=c.pk).is_final

    response = client.post(f"/submissions/{a.pk}/final/", {"final": "0"}, follow=True)
    assert f"Submission #{a.pk} is no longer final." in response.content.decode()
    assert list(Submission.objects.filter(is_final=True).values_list("pk", flat=True)) == [b.pk]
    # Someone else's submission is not found, and GET is not allowed.
    other = make_participant(task.track.challenge, username="fay")
    assert (
        client_for(other.user).post(f"/submissions/{b.pk}/final/", {"final": "0"}).status_code
        == 404
    )
    assert client.get(f"/submissions/{b.pk}/final/").status_code == 405
    # Anything but 1 or 0 (or nothing) changes nothing and says what the toggle takes.
    for form in ({"final": "yes"}, {"final": ""}, {}):
        response = client.post(f"/submissions/{b.pk}/final/", form, follow=True)
        assert "takes final=1 (mark) or final=0 (unmark)" in response.content.decode()
        assert Submission.objects.get(pk=b.pk).is_final
