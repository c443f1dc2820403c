"""The final standings' canonical form and digest, and who the winners page names. Pure
Python: no Django here.

The snapshot is hashed as canonical JSON: keys sorted, no insignificant whitespace, UTF-8,
floats in Python's shortest round-trip form (``repr``), NaN and infinity refused. Anyone can
check a published snapshot: drop its ``sha256`` key, canonicalize the rest the same way and
compare ``hashlib.sha256(...).hexdigest()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def canonical_json(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def snapshot_digest(snapshot: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``snapshot`` without its own ``sha256`` key."""
    body = {k: v for k, v in snapshot.items() if k != "sha256"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def top_entries(entries: list[Mapping[str, Any]], n: int = 3) -> list[Mapping[str, Any]]:
    """The first ``n`` ranked entries eligible for the prize, best first: baselines, unranked
    rows and entries over the track's NFR limit (``prize_eligible: false``, issue 13) are
    skipped, so a team that breaks too many of the reference's rows is not named a winner."""
    ranked = [
        e for e in entries if e.get("rank") is not None and e.get("prize_eligible") is not False
    ]
    return sorted(ranked, key=lambda e: e["rank"])[:n]


@dataclass(frozen=True)
class CowinnerDecision:
    """Who the winners page names, and why each team of group 1 is or is not a co-winner."""

    winners: list[Mapping[str, Any]]  # the winners listed, best first
    cowinners: list[Mapping[str, Any]]  # named beside them ("show")
    shared: set[Any]  # team ids sharing the first prize ("decide")
    reasons: dict[Any, str]  # team id -> why it is (or is not) a co-winner, group 1 only
    rule: str  # the rule, in words, for the page


def cowinner_decision(
    entries: list[Mapping[str, Any]],
    *,
    mode: str,
    n: int,
    track: Mapping[str, Any],
) -> CowinnerDecision:
    """The winners of a frozen track board under the challenge's ``cowinners`` ``mode``.

    "off": the top ``n`` by rank. "show": the same winners, and the other prize-eligible
    teams of group 1 named beside them. "decide": the co-winners share the first prize, the
    next ranks follow up to ``n`` winners at least. Either way a team of group 1 is a
    co-winner only when its track mean also beats the trivial baseline's (``track``'s
    ``trivial_reference``): a team no better than predicting the majority class or the
    mean has won nothing, however wide the intervals are. Snapshots frozen before the
    groups, or before the trivial baseline's mean, was kept name no co-winner.
    """
    eligible = top_entries(entries, len(entries))
    top = eligible[:n]
    first_group = [e for e in eligible if e.get("group") == 1]
    if mode == "off":
        return CowinnerDecision(top, [], set(), {}, "")
    if not first_group:
        reason = track.get("group_reason")
        rule = (
            f"No co-winners: the groups could not be computed ({reason})."
            if reason
            else "No co-winners: these standings hold no groups."
        )
        return CowinnerDecision(top, [], set(), {}, rule)
    leader = first_group[0]
    recorded = "trivial_reference" in track
    trivial = (track.get("trivial_reference") or {}).get("score")
    reasons: dict[Any, str] = {}
    named = []
    for e in first_group[1:]:
        apart = "cannot be separated from #1"
        if not recorded:
            reasons[e["team_id"]] = (
                f"{apart}, but these standings were frozen before the trivial baseline's track "
                "mean was kept: not named a co-winner"
            )
        elif trivial is None:
            reasons[e["team_id"]] = (
                f"{apart}, but no task of the track has a trivial baseline to beat: not named "
                "a co-winner"
            )
        elif e.get("score") is None or not e["score"] > trivial:
            reasons[e["team_id"]] = (
                f"{apart}, but its track mean {_number(e.get('score'))} does not beat the "
                f"trivial baseline's {_number(trivial)}: not a co-winner"
            )
        else:
            reasons[e["team_id"]] = (
                f"{apart} and its track mean {_number(e['score'])} beats the trivial "
                f"baseline's {_number(trivial)}"
            )
            named.append(e)
    rule = (
        "A co-winner cannot be separated from #1 (an interval for every pair of teams from "
        "that pair's own differences, all holding at once) and its track mean beats the "
        "trivial baseline's"
        + (f" ({_number(trivial)})." if trivial is not None else ".")
    )
    if mode == "decide":
        shared = [leader, *named]
        ids = {e["team_id"] for e in shared} if named else set()  # alone, it shares nothing
        rest = [e for e in eligible if e["team_id"] not in ids]
        return CowinnerDecision(shared + rest[: max(0, n - len(shared))], [], ids, reasons, rule)
    return CowinnerDecision(
        top, [e for e in named if e["team_id"] != top[0]["team_id"]], set(), reasons, rule
    )


def separable_from_winner(entries: list[Mapping[str, Any]]) -> str:
    """Which teams the joint rank sets separate from the winner (the first prize-eligible
    team by rank), in words: those outside its tier are truly worse, all at once at 95%
    (docs/decisions/0069-simultaneous-rank-sets.md). Empty when the standings hold no
    tiers (a track of few tasks, or frozen before them)."""
    top = top_entries(entries, 1)
    if not top or top[0].get("tier") is None:
        return ""
    winner = top[0]
    ranked = [e for e in entries if e.get("rank") is not None and e.get("tier") is not None]
    same = [e["team"] for e in ranked if e["tier"] == winner["tier"] and e is not winner]
    apart = [e["team"] for e in ranked if e["tier"] != winner["tier"]]
    if not same:
        return (
            f"{winner['team']} is separable from every other team: its rank set holds it "
            "apart (joint 95% rank sets over the track's tasks)."
        )
    tied = ", ".join(same)
    rest = f"; every other team ({len(apart)}) is separable from the winner" if apart else ""
    return (
        f"Not separable from {winner['team']} (its tier of the joint 95% rank sets over the "
        f"track's tasks): {tied}{rest}."
    )


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"
