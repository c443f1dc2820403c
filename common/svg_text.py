"""How much room a line of chart text takes, estimated without a font file, on the wide side.

The charts (:mod:`common.svg`) place their margins, legends and labels with these numbers so
that no title, tick or name is cut at the edge of the picture, whichever font the reader's
browser picks for ``system-ui, sans-serif``. Widths per printable ASCII character are the
larger of DejaVu Sans (Debian's default, among the widest sans faces) and Liberation Sans
(Arial's metrics), in thousandths of an em, plus ``MARGIN``. Other characters: accented
letters as their base letter, combining marks and invisible characters none, East Asian
wide characters one em (emoji and other wide symbols ``EMOJI_EM``), anything else
``OTHER_EM``, more than any Latin, Greek or Cyrillic letter of those faces.
"""

from __future__ import annotations

import unicodedata

# U+0020 (space) to U+007E (~), regular and bold (font-weight 600 and up).
# fmt: off
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 556, 1015, 684, 686, 722,
    770, 667, 611, 778, 752, 295, 500, 667, 557, 863, 748, 787, 667, 787, 722, 667, 611, 732,
    684, 989, 685, 667, 685, 390, 337, 390, 838, 556, 500, 613, 635, 550, 635, 615, 352, 635,
    634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
    525, 636, 337, 636, 838,
)
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 611, 1000, 774, 762, 734,
    830, 683, 683, 821, 837, 372, 556, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
    774, 1103, 771, 724, 725, 457, 365, 457, 838, 556, 500, 675, 716, 593, 716, 678, 435, 716,
    712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
    582, 712, 365, 712, 838,
)
# fmt: on
MARGIN = 1.05
WIDE_EM = 1.0
EMOJI_EM = 1.3
OTHER_EM = 1.1
ELLIPSIS = "\u2026"
# Above and below the baseline, in em (DejaVu Sans: 0.93 and 0.24).
ASCENT_EM = 0.95
DESCENT_EM = 0.25


def _char_em(char: str, table: tuple[int, ...]) -> float:
    code = ord(char)
    if 32 <= code <= 126:
        return table[code - 32] / 1000
    if char in "\t\n\r":
        return table[0] / 1000  # SVG text shows any whitespace as a space
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf", "Cc") or char == "\u200b":
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return EMOJI_EM if category.startswith("S") else WIDE_EM
    if code >= 0x1F000:  # emoji not marked wide (e.g. some symbols)
        return EMOJI_EM
    base = unicodedata.normalize("NFKD", char)
    if base != char and all(32 <= ord(c) <= 126 or unicodedata.combining(c) for c in base):
        return sum(_char_em(c, table) for c in base)
    return OTHER_EM


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width of ``text`` at ``size`` px, as an upper bound for the usual sans faces."""
    table = _BOLD if bold else _REGULAR
    return MARGIN * size * sum(_char_em(c, table) for c in text)


def fit(text: str, width: float, size: float, *, bold: bool = False) -> str:
    """``text``, or its longest beginning that fits ``width`` with an ellipsis."""
    text = " ".join(text.split())
    if text_width(text, size, bold=bold) <= width:
        return text
    room = width - text_width(ELLIPSIS, size, bold=bold)
    kept = ""
    for char in text:
        if text_width(kept + char, size, bold=bold) > room:
            break
        kept += char
    return kept.rstrip() + ELLIPSIS if kept.strip() else (ELLIPSIS if room >= 0 else "")


def wrap(text: str, width: float, size: float, *, bold: bool = False, lines: int = 2) -> list[str]:
    """``text`` broken at spaces into at most ``lines`` lines that each fit ``width``; the
    last line takes the rest, cut with an ellipsis when it does not fit (so does a word
    longer than a line)."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        if len(out) == lines - 1:
            out.append(fit(" ".join(words[i:]), width, size, bold=bold))
            break
        line = words[i]
        i += 1
        while i < len(words) and text_width(f"{line} {words[i]}", size, bold=bold) <= width:
            line = f"{line} {words[i]}"
            i += 1
        out.append(fit(line, width, size, bold=bold))
    return out or [""]
