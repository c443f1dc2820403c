"""The final standings' canonical form and digest. Pure Python: no Django here.

The snapshot is hashed as canonical JSON: keys sorted, no insignificant whitespace, UTF-8,
floats in Python's shortest round-trip form (``repr``), NaN and infinity refused. Anyone can
check a published snapshot: drop its ``sha256`` key, canonicalize the rest the same way and
compare ``hashlib.sha256(...).hexdigest()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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
