# ruff: noqa: RUF002  (look-alike letters are this module's subject)
"""When two names are the same name to a reader, and which names may not be taken.

Pure functions (no Django), used for team names (``Team.name_key``, unique per challenge)
and usernames (``challenge_platform.accounts.usernames``).

A name's *key* is its Unicode confusable skeleton (UTS #39, ICU's ``SpoofChecker`` through
PyICU, whose confusables data ships inside the wheel), taken before and after case
folding (the skeleton of ``I`` is ``l``, so ``AIiceTeam`` reads as ``AliceTeam``; that of
``m`` is ``rn``), after NFKC (width, ligatures, compatibility forms), with the combining
marks removed (nonspacing and enclosing: accents, dots above and below, tildes, so
``Ali\u0307ceTeam`` and ``AlíceTeam`` read as ``AliceTeam``), small capitals read as their
small letters (``ᴀ`` as ``a``: the skeleton leaves several alone), the characters that
render as nothing removed (:func:`invisible_characters`) and whitespace and underscores
left out altogether (``Alice Team`` is ``AliceTeam``). Equal keys mean one name:
``"Team\u200b Alpha"``, ``"TEAM ALPHA"``, ``"Ｔｅａｍ Alpha"``, ``"Tеam Alpha"`` (Cyrillic
``е``), ``"Téam Alpha"`` and ``"TeamAlpha"`` share one.

:func:`invisible_characters` lists what a new name may not contain at all: format
characters (category Cf: zero-width spaces and joiners, the byte-order mark, bidi
controls), controls and unassigned code points, Unicode's default-ignorable code points
(the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, tags...) and
blank symbols such as U+2800 BRAILLE PATTERN BLANK.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _icu() -> Any:
    """PyICU, imported on the first name checked (a cold command that checks none never
    loads it: 0.02-0.03 s of its start)."""
    import icu

    return icu


@lru_cache(maxsize=1)
def _spoof_checker() -> Any:
    # Read-only after creation: shared by every thread (two made at once: either serves).
    return _icu().SpoofChecker()


# Characters that render blank but are symbols or letters, not spaces or format characters.
BLANK_LOOKING = frozenset(
    {
        "\u2800",  # BRAILLE PATTERN BLANK
        "\u115f",  # HANGUL CHOSEONG FILLER
        "\u1160",  # HANGUL JUNGSEONG FILLER
        "\u3164",  # HANGUL FILLER
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        "\u180e",  # MONGOLIAN VOWEL SEPARATOR
        "\u2028",  # LINE SEPARATOR
        "\u2029",  # PARAGRAPH SEPARATOR
    }
)

# Digits and symbols read as letters, only for the imitation check ("Base1ine", "B@seline").
_LEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "|": "l", "!": "i"})  # fmt: skip

# Words only the organizers' teams may carry: the built-in AutoGluon baseline and references.
RESERVED_WORDS = ("baseline", "reference", "autogluon", "organizer", "organiser")

KEY_MAX = 150  # Team.name_key holds 160, with room for a "#<pk>" suffix
_FOLDED = re.compile(r"[\s_]+")


def _invisible(char: str) -> bool:
    if char in BLANK_LOOKING:
        return True
    if unicodedata.category(char) in {"Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp"}:
        return char not in "\t\n\r"  # whitespace: folded, never a hidden difference
    icu = _icu()
    return icu.Char.hasBinaryProperty(char, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT)


def invisible_characters(name: str) -> list[str]:
    """The characters of ``name`` that render as nothing, named (``"U+2800 BRAILLE PATTERN
    BLANK"``), each once, in order."""
    seen: dict[str, str] = {}
    for char in name:
        if char not in seen and _invisible(char):
            label = unicodedata.name(char, "") or _icu().Char.charName(char) or "unnamed"
            seen[char] = f"U+{ord(char):04X} {label}"
    return list(seen.values())


def _skeleton(text: str) -> str:
    return _spoof_checker().getSkeleton(0, text)


_MARKS = frozenset({"Mn", "Me"})  # nonspacing and enclosing; spacing marks (Mc) show as letters


def _without_marks(text: str) -> str:
    """``text`` decomposed (NFD) without its nonspacing and enclosing combining marks."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) not in _MARKS)


@lru_cache(maxsize=4096)
def _small_capital_as_letter(char: str) -> str:
    """A small capital (``ᴀ`` LATIN LETTER SMALL CAPITAL A) as the small letter it reads as
    (``a``: LATIN SMALL LETTER A), in any script; any other character as itself."""
    label = unicodedata.name(char, "")
    script, found, rest = label.partition(" LETTER SMALL CAPITAL ")
    if not found:
        return char
    try:
        return unicodedata.lookup(f"{script} SMALL LETTER {rest}")
    except KeyError:
        return char


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """The comparison key of a name: equal keys read as the same name (see module doc); the
    one key of team names and usernames alike."""
    text = _without_marks(unicodedata.normalize("NFKC", name))
    text = "".join(_small_capital_as_letter(c) for c in text if not _invisible(c))
    text = _skeleton(_skeleton(text).casefold()).casefold()
    # A skeleton may spell a look-alike with a mark (a barred i as i + U+0335): dropped too.
    text = unicodedata.normalize("NFC", _FOLDED.sub("", _without_marks(text)))
    if len(text) > KEY_MAX:  # NFKC and skeletons may expand a long name: bounded, still exact
        text = text[:100] + "~" + hashlib.sha256(text.encode()).hexdigest()[:32]
    return text


def team_name_key(name: str) -> str:
    """A team name's key (``Team.name_key``)."""
    return name_key(name)


def name_imitates(name: str, words: Iterable[str] = RESERVED_WORDS) -> str | None:
    """The reserved word ``name`` imitates (``"baseline"``...), or None.

    Compared on keys with leetspeak digits read as letters and everything that is not a
    letter removed, so "Auto-Gluon  Base1ine" and "R.e.f.e.r.e.n.c.e" are caught.
    """
    text = unicodedata.normalize("NFKC", name).casefold().translate(_LEET)
    letters = "".join(c for c in name_key(text) if c.isalpha())
    for word in words:
        if name_key(word) in letters:
            return word
    return None


def team_name_imitates(name: str) -> str | None:
    return name_imitates(name)


def unique_name_keys(teams: Iterable[tuple[int, int, str]]) -> dict[int, str]:
    """Keys for existing ``(pk, challenge_id, name)`` rows, oldest first: of look-alike names
    already present, the first keeps the plain key and each later one gets ``#<pk>``, so
    the unique constraint holds without renaming anyone (the migrations' rule)."""
    keys: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    for pk, challenge_id, name in teams:
        key = team_name_key(name)
        if (challenge_id, key) in seen:
            key = f"{key}#{pk}"
        seen.add((challenge_id, key))
        keys[pk] = key
    return keys


def lookalike_groups(names: Iterable[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """The ``(id, name)`` pairs that read as one name, grouped (only groups of two or more),
    plus every name holding an invisible character as a group of its own; in input order."""
    by_key: dict[str, list[tuple[int, str]]] = {}
    for pk, name in names:
        by_key.setdefault(name_key(name), []).append((pk, name))
    groups = [group for group in by_key.values() if len(group) > 1]
    flagged = {pk for group in groups for pk, _ in group}
    groups += [
        [(pk, name)]
        for group in by_key.values()
        for pk, name in group
        if pk not in flagged and invisible_characters(name)
    ]
    return groups
