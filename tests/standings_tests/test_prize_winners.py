"""The winners named per track are the best entries eligible for the prize: an entry over the
track's NFR limit stays on the frozen board, marked, but the prize passes to the next one."""

from standings.core import top_entries


def entry(rank: int | None, team: str, eligible: bool | None) -> dict:
    return {"rank": rank, "team": team, "prize_eligible": eligible}


def test_an_entry_over_the_nfr_limit_is_not_named_a_winner() -> None:
    entries = [
        entry(1, "Owls", False),  # best score, breaks too many of the reference's rows
        entry(None, "AutoGluon baseline", None),
        entry(2, "Hawks", True),
        entry(3, "Kestrels", True),
        entry(4, "Herons", True),
    ]
    assert [e["team"] for e in top_entries(entries, 3)] == ["Hawks", "Kestrels", "Herons"]


def test_without_an_nfr_limit_every_ranked_entry_may_win() -> None:
    entries = [{"rank": 2, "team": "B"}, {"rank": 1, "team": "A"}, {"rank": None, "team": "ref"}]
    assert [e["team"] for e in top_entries(entries, 3)] == ["A", "B"]
