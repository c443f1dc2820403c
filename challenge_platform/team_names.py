# ruff: noqa: RUF001, RUF002  (look-alike letters are this module's subject)
"""When two team names are the same name, and which names imitate the organizers' teams.

Pure functions (no Django). A name's *key* is what the database keeps unique per challenge
(``Team.name_key``): Unicode NFKC, case folding, invisible characters removed (format
characters, category Cf, such as zero-width spaces and joiners, the byte-order mark and bidi
controls; variation selectors), a small
map of the common look-alike letters from other scripts (Cyrillic and Greek letters that
render like Latin ones) and whitespace collapsed. ``"Team\u200b Alpha"``, ``"TEAM ALPHA"``,
``"Ｔｅａｍ Alpha"`` and ``"Tеam Alpha"`` (Cyrillic ``е``) all have the key ``"team alpha"``.

Not the full Unicode confusables table (UTS #39): the map covers the letters a person can
type to fake a Latin name; a name built from rarer look-alikes is still a different name,
and an organizer can rename or hide it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Cyrillic and Greek letters (after case folding) that look like Latin letters.
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i",
    "ї": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p",
    "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "ѡ": "w", "х": "x", "ү": "y", "ь": "b",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c", "σ": "o",
    # Latin look-alikes that NFKC keeps
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ℓ": "l",
}  # fmt: skip

# Digits and symbols read as letters, only for the imitation check ("Base1ine", "B@seline").
_LEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "|": "l", "!": "i"})  # fmt: skip

# Words only the organizers' teams may carry: the built-in AutoGluon baseline and references.
RESERVED_WORDS = ("baseline", "reference", "autogluon", "organizer", "organiser")

_SPACES = re.compile(r"\s+")


def _invisible(char: str) -> bool:
    category = unicodedata.category(char)
    if category in {"Cf", "Cc", "Co", "Cs", "Cn"}:
        return True
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF  # variation selectors


def team_name_key(name: str) -> str:
    """The comparison key of a team name: equal keys mean the same name (see module doc)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(CONFUSABLES.get(c, c) for c in text if not _invisible(c))
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()


def team_name_imitates(name: str) -> str | None:
    """The reserved word ``name`` imitates (``"baseline"``...), or None.

    Compared on the key with leetspeak digits read as letters and everything that is not a
    letter removed, so "Auto-Gluon  Base1ine" and "R.e.f.e.r.e.n.c.e" are caught.
    """
    skeleton = "".join(c for c in team_name_key(name).translate(_LEET) if c.isalpha())
    for word in RESERVED_WORDS:
        if word in skeleton:
            return word
    return None


def unique_name_keys(teams: Iterable[tuple[int, int, str]]) -> dict[int, str]:
    """Keys for existing ``(pk, challenge_id, name)`` rows, oldest first: of look-alike names
    already present, the first keeps the plain key and each later one gets ``#<pk>``, so
    the unique constraint can be added without renaming anyone (the migration's rule)."""
    keys: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    for pk, challenge_id, name in teams:
        key = team_name_key(name)
        if (challenge_id, key) in seen:
            key = f"{key}#{pk}"
        seen.add((challenge_id, key))
        keys[pk] = key
    return keys
