"""When two names are the same name to a reader, and which names may not be taken.

Pure functions (no Django), used for team names (``Team.name_key``, unique per challenge)
and usernames (``challenges.accounts.usernames``).

A name's key (:func:`name_key`, issue 51) is the Unicode confusable skeleton (UTS #39, ICU's
``SpoofChecker`` through PyICU, whose confusables data ships inside the wheel) of the
case-folded NFKC name (width, ligatures, compatibility forms; ``ALICETEAM`` is
``AliceTeam``; the skeleton of ``m`` is ``rn``), with the combining marks removed
(nonspacing and enclosing: accents, dots above and below, tildes, so ``Ali\u0307ceTeam``
and ``AlíceTeam`` read as ``AliceTeam``), small capitals read as their small letters
(``ᴀ`` as ``a``), the characters that render as nothing removed
(:func:`invisible_characters`), and what a reader passes over inside a name left out:
whitespace, every punctuation mark (dashes of any length such as ``⸺``, the Mongolian
soft hyphen U+1806, dots, quotes, brackets, underscores) and the stretching tatweel
(``Alice-Team``, ``Alice.Team``, ``Alice\u0640Team`` and ``Alice Team`` are
``AliceTeam``). The skeleton's ``ꞓ``, the prototype of Cyrillic ``є`` and Greek ``ε``,
reads as ``e`` (``AlicєTeam``). A capital ``I`` is both an ``i`` (in ``ALICE``) and, to the
eye, an ``l`` (in ``AIice``): :func:`name_glyph_key` takes the skeleton before case
folding, and two names that share either key (:func:`name_keys`) are one name.

:func:`scripts_mixed` and :func:`control_or_separator_characters` (issue 66) say what else a
new name may not be: letters of scripts mixed beyond UTS #39's "Moderately Restrictive" level
(ICU's ``SpoofChecker``: Greek capitals with a Cyrillic one among Latin letters, a Cyrillic
``te`` in ``Alice?eam``), a tab, a line feed, a space other than the plain one. A
whole-script look-alike (``ACE`` in Cyrillic capitals beside Latin ``ACE``) is one script,
and is caught by the keys. :func:`invisible_characters` lists what a new name
may not contain at all: format
characters (category Cf: zero-width spaces and joiners, the byte-order mark, bidi
controls), controls and unassigned code points, Unicode's default-ignorable code points
(the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, tags...) and
blank symbols such as U+2800 BRAILLE PATTERN BLANK.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable
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


@lru_cache(maxsize=1)
def _restriction_checker() -> Any:
    """ICU's spoof checker at UTS #39's "Moderately Restrictive" level (section 5.2): one
    script, or Latin with one other Recommended script that is not Cyrillic or Greek (Han
    with Hiragana and Katakana, Hangul, Bopomofo), and digits of one system."""
    icu = _icu()
    checker = icu.SpoofChecker()
    checker.setRestrictionLevel(icu.URestrictionLevel.MODERATELY_RESTRICTIVE)
    checker.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL | icu.USpoofChecks.MIXED_NUMBERS)
    return checker


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

# Letters that only stretch a word (kashida): a name reads the same with or without them.
STRETCHERS = frozenset({"\u0640", "\u07fa"})  # ARABIC TATWEEL, NKO LAJANYALAN
# Skeleton prototypes that a reader of a Latin name reads as another letter: UTS #39 maps
# Cyrillic є, Greek ε and ϵ and Latin ɛ to ꞓ (c with bar), which reads as an e.
READS_AS = str.maketrans({"\ua793": "e", "\ua792": "e"})


def _invisible(char: str) -> bool:
    if char in BLANK_LOOKING:
        return True
    if unicodedata.category(char) in {"Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp"}:
        return char not in "\t\n\r"  # whitespace: folded, never a hidden difference
    icu = _icu()
    return icu.Char.hasBinaryProperty(char, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT)


def invisible_characters(*, name: str) -> list[str]:
    """The characters of ``name`` that render as nothing, named (``"U+2800 BRAILLE PATTERN
    BLANK"``), each once, in order."""
    seen: dict[str, str] = {}
    for char in name:
        if char not in seen and _invisible(char):
            label = unicodedata.name(char, "") or _icu().Char.charName(char) or "unnamed"
            seen[char] = f"U+{ord(char):04X} {label}"
    return list(seen.values())


def control_or_separator_characters(*, name: str) -> list[str]:
    """The control characters (a tab, a line feed) and separators other than the plain space
    (no-break, em and ideographic spaces, line and paragraph separators) in ``name``, named,
    each once: a new name may hold none (UTS #39's identifier profile allows neither)."""
    seen: dict[str, str] = {}
    for char in name:
        category = unicodedata.category(char)
        refused = category in {"Cc", "Zl", "Zp"} or (category == "Zs" and char != " ")
        if char not in seen and refused:
            label = unicodedata.name(char, "") or "a control character"
            seen[char] = f"U+{ord(char):04X} {label}"
    return list(seen.values())


def scripts_mixed(*, name: str) -> list[str]:
    """The scripts of ``name``'s letters when they mix more than UTS #39's "Moderately
    Restrictive" level allows (a Greek lunate sigma for the c of ``AliceTeam``: Latin and
    Greek; a Cyrillic te for its t: Latin and Cyrillic), or digits of two systems; else an
    empty list. One script, or Latin with Han and Japanese kana, passes."""
    if not name or not _restriction_checker().check(name):
        return []
    icu = _icu()
    scripts: dict[str, None] = {}
    for char in name:
        script = icu.Script.getScript(char).getName()
        if script not in {"Common", "Inherited", "Unknown"}:
            scripts[script] = None
    return list(scripts) or ["digits of two systems"]


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


def _folded(text: str) -> str:
    """``text`` without what a reader passes over inside a name: whitespace, punctuation
    (dashes of every length, dots, quotes, brackets, connectors such as ``_``) and the
    stretching letters (:data:`STRETCHERS`)."""
    return "".join(
        c
        for c in text
        if not c.isspace() and not unicodedata.category(c).startswith("P") and c not in STRETCHERS
    )


def _bounded(text: str) -> str:
    if len(text) > KEY_MAX:  # NFKC and skeletons may expand a long name: bounded, still exact
        text = text[:100] + "~" + hashlib.sha256(text.encode()).hexdigest()[:32]
    return text


def _letters(name: str) -> str:
    """NFKC, without combining marks and invisible characters, small capitals read as
    their small letters, what a reader passes over (:func:`_folded`) left out."""
    text = _without_marks(unicodedata.normalize("NFKC", name))
    return _folded("".join(_small_capital_as_letter(c) for c in text if not _invisible(c)))


def _finished(text: str) -> str:
    """A skeleton's last steps: the letters it leaves that read as others (``READS_AS``),
    marks it spells (a barred i as i + U+0335) and what it turned into punctuation dropped."""
    text = _folded(_without_marks(text.translate(READS_AS)))
    return _bounded(unicodedata.normalize("NFC", text))


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """The comparison key of a name (UTS #39 on the case-folded text): the skeleton of the
    case-folded NFKC name, with punctuation, dashes and stretching folded (see the module
    doc). ``Team.name_key``; with :func:`name_glyph_key`, one of :func:`name_keys`."""
    text = _letters(name).casefold()
    return _finished(_skeleton(_skeleton(text).casefold()).casefold())


@lru_cache(maxsize=65536)
def name_glyph_key(name: str) -> str:
    """The key of the name as its letters look before case is folded: the skeleton first,
    so a capital ``I`` among small letters reads as ``l`` (``AIiceTeam`` as ``AliceTeam``),
    where :func:`name_key` reads it as ``i`` (``ALICETEAM`` as ``AliceTeam``). No one key
    can read ``I`` both ways: a name is compared by both (``Team.name_glyph_key``)."""
    text = _letters(name)
    return _finished(_skeleton(_skeleton(text).casefold()).casefold())


def name_keys(*, name: str) -> frozenset[str]:
    """Both keys of a name: two names that share one read as the same name."""
    return frozenset((name_key(name), name_glyph_key(name)))


def names_read_alike(*, first: str, second: str) -> bool:
    """Whether a person would read ``first`` and ``second`` as one name."""
    return bool(name_keys(name=first) & name_keys(name=second))


def team_name_key(*, name: str) -> str:
    """A team name's key (``Team.name_key``)."""
    return name_key(name)


def name_imitates(*, name: str, words: Iterable[str] = RESERVED_WORDS) -> str | None:
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


def team_name_imitates(*, name: str) -> str | None:
    return name_imitates(name=name)


def unique_name_keys(
    *, teams: Iterable[tuple[int, int, str]], key: Callable[[str], str] = name_key
) -> dict[int, str]:
    """Keys (``key``: :func:`name_key` or :func:`name_glyph_key`) for existing ``(pk,
    challenge_id, name)`` rows, oldest first: of look-alike names already present, the
    first keeps the plain key and each later one gets ``#<pk>``, so the unique constraint
    holds without renaming anyone (the migrations' rule)."""
    keys: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    for pk, challenge_id, name in teams:
        plain = key(name)
        if (challenge_id, plain) in seen:
            plain = f"{plain}#{pk}"
        seen.add((challenge_id, plain))
        keys[pk] = plain
    return keys


def lookalike_groups(*, names: Iterable[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """The ``(id, name)`` pairs that read as one name (sharing either key, transitively),
    grouped (only groups of two or more), plus every name holding an invisible character
    as a group of its own; in input order."""
    rows = list(names)
    first_of_key: dict[str, int] = {}
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (_, name) in enumerate(rows):
        for key in sorted(name_keys(name=name)):
            j = first_of_key.setdefault(key, i)
            parent[root(i)] = root(j)
    by_root: dict[int, list[tuple[int, str]]] = {}
    for i, row in enumerate(rows):
        by_root.setdefault(root(i), []).append(row)
    groups = [group for group in by_root.values() if len(group) > 1]
    groups += [[row] for group in by_root.values() if len(group) == 1 for row in group
               if invisible_characters(name=row[1])]  # fmt: skip
    return groups


def name_refused_now(*, name: str) -> str | None:
    """Why a new name would be refused by the rules of issue 66 (mixed scripts, control or
    separator characters), in words, or None: what ``check_lookalike_names`` lists of the
    names that predate them."""
    hidden = control_or_separator_characters(name=name)
    if hidden:
        return "contains " + ", ".join(hidden)
    mixed = scripts_mixed(name=name)
    if mixed:
        return "mixes " + " and ".join(mixed)
    return None
