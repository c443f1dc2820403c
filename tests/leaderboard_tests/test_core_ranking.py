"""Per-task ranking, best submission per team, final selection (no Django)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.core.ranking import (
    EntryInput,
    SubmissionInput,
    final_selection,
    private_entries,
    rank_entries,
    ranks_by_team,
    select_team_best,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(team, score, minute, baseline=False):
    return EntryInput(team_id=team, is_baseline=baseline, score=score, submitted_at=at(minute))


def sub(id, team, public, private=None, minute=0, final=False, baseline=False):
    return SubmissionInput(
        id=id,
        team_id=team,
        is_baseline=baseline,
        submitted_at=at(minute),
        public_score=public,
        private_score=private,
        is_final=final,
    )


def board(ranked):
    return [(r.entry.team_id, r.rank) for r in ranked]


def test_best_score_first_with_consecutive_ranks():
    ranked = rank_entries([entry("a", 0.7, 0), entry("b", 0.9, 1), entry("c", 0.8, 2)])
    assert board(ranked) == [("b", 1), ("c", 2), ("a", 3)]
    assert [r.position for r in ranked] == [1, 2, 3]


def test_equal_scores_earlier_submission_ranks_higher_and_ranks_stay_distinct():
    ranked = rank_entries([entry("late", 0.8, 10), entry("early", 0.8, 5), entry("top", 0.9, 20)])
    assert board(ranked) == [("top", 1), ("early", 2), ("late", 3)]


def test_baseline_keeps_its_place_without_consuming_a_rank():
    ranked = rank_entries(
        [entry("a", 0.9, 0), entry("base", 0.85, 0, baseline=True), entry("b", 0.8, 0)]
    )
    assert board(ranked) == [("a", 1), ("base", None), ("b", 2)]
    assert [r.position for r in ranked] == [1, 2, 3]


def test_unscored_entries_come_last_unranked_and_nan_counts_as_unscored():
    ranked = rank_entries(
        [entry("none", None, 0), entry("nan", float("nan"), 1), entry("low", 0.1, 9)]
    )
    assert board(ranked) == [("low", 1), ("none", None), ("nan", None)]


def test_payload_is_carried_and_ignored():
    e = EntryInput(team_id=1, is_baseline=False, score=0.5, submitted_at=T0, payload={"x": 1})
    (ranked,) = rank_entries([e])
    assert ranked.entry.payload == {"x": 1}
    assert ranks_by_team([ranked]) == {1: 1}


@settings(deadline=None)  # timing belongs in bench/, not in a loaded CI
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0, 1)),
            st.integers(0, 50),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_rank_invariants(rows):
    entries = [entry(i, s, m, b) for i, (s, m, b) in enumerate(rows)]
    ranked = rank_entries(entries)
    assert sorted(r.entry.team_id for r in ranked) == list(range(len(rows)))
    ranks = [r.rank for r in ranked if r.rank is not None]
    assert ranks == list(range(1, len(ranks) + 1))  # consecutive, in board order
    expected = sum(1 for s, _, b in rows if s is not None and not b)
    assert len(ranks) == expected
    scored = [r.entry for r in ranked if r.entry.score is not None]
    keys = [(-e.score, e.submitted_at) for e in scored]
    assert keys == sorted(keys)
    assert all(r.entry.score is None for r in ranked[len(scored) :])


def test_select_team_best_takes_best_score_then_earliest():
    subs = [
        sub(1, "a", 0.7, minute=0),
        sub(2, "a", 0.8, minute=5),
        sub(3, "a", 0.8, minute=3),
        sub(4, "b", None, minute=1),  # failed: b has no entry
        sub(5, "c", 0.75, minute=2),
    ]
    entries = select_team_best(subs, split="public")
    assert [(e.team_id, e.payload.id, e.score) for e in entries] == [
        ("a", 3, 0.8),
        ("c", 5, 0.75),
    ]
    assert board(rank_entries(entries)) == [("a", 1), ("c", 2)]


def test_select_team_best_uses_the_requested_split():
    subs = [sub(1, "a", 0.9, private=0.6, minute=0), sub(2, "a", 0.8, private=0.7, minute=1)]
    assert select_team_best(subs, split="private")[0].payload.id == 2
    with pytest.raises(ValueError, match="unknown split"):
        select_team_best(subs, split="all")


def test_final_selection_explicit_choice_wins_over_better_public_scores():
    subs = [
        sub(1, "a", 0.95, minute=0),
        sub(2, "a", 0.60, minute=1, final=True),
        sub(3, "a", 0.90, minute=2),
    ]
    choice = final_selection(subs)["a"]
    assert choice.explicit
    assert choice.submission_ids == (2,)


def test_final_selection_defaults_to_best_two_public_ties_earliest():
    subs = [
        sub(1, "a", 0.70, minute=0),
        sub(2, "a", 0.90, minute=1),
        sub(3, "a", 0.80, minute=2),
        sub(4, "a", 0.80, minute=3),
        sub(5, "a", None, minute=4),
    ]
    choice = final_selection(subs)["a"]
    assert not choice.explicit
    assert choice.submission_ids == (2, 3)
    assert final_selection(subs, max_final=1)["a"].submission_ids == (2,)


def test_final_selection_caps_explicit_choices_and_ignores_unscored_ones():
    subs = [
        sub(1, "a", 0.70, minute=0, final=True),
        sub(2, "a", 0.90, minute=1, final=True),
        sub(3, "a", 0.80, minute=2, final=True),
        sub(4, "b", None, minute=0, final=True),  # failed selection: falls back to the default
        sub(5, "b", 0.50, minute=1),
        sub(6, "c", None, minute=0),
    ]
    choices = final_selection(subs)
    assert choices["a"].submission_ids == (2, 3)
    assert choices["b"].submission_ids == (5,)
    assert not choices["b"].explicit
    assert "c" not in choices
    with pytest.raises(ValueError):
        final_selection(subs, max_final=0)


def test_private_entry_is_the_best_private_score_among_finals_only():
    subs = [
        sub(1, "a", 0.90, private=0.70, minute=0),
        sub(2, "a", 0.85, private=0.75, minute=1),
        sub(3, "a", 0.60, private=0.99, minute=2),  # not a final: its 0.99 must not count
        sub(4, "b", 0.80, private=0.80, minute=0, final=True),
        sub(5, "b", 0.95, private=0.90, minute=1),  # better but not selected
        sub(6, "base", 0.82, private=0.78, minute=0, baseline=True),
    ]
    entries = {e.team_id: e for e in private_entries(subs)}
    assert (entries["a"].payload.id, entries["a"].score) == (2, 0.75)
    assert (entries["b"].payload.id, entries["b"].score) == (4, 0.80)
    assert board(rank_entries(list(entries.values()))) == [("b", 1), ("base", None), ("a", 2)]
