"""Team Markdown renders in linear time (issue 51): the worst inputs known for Markdown
parsers, at growing lengths, through the platform's renderer (``common.markdown``).

For each shape (CommonMark's pathological cases as cmark and markdown-it test them, plus
the probe's ``[`` x n) and each length, it prints the CPU seconds of one rendering
(sanitizing included) and two ratios:

- *growth*: the time at this length / the time at the previous length. The lengths grow by
  ``--step`` (default 4), so linear time reads about 4 and quadratic time 16;
- *vs plain*: the time / the time of plain text of the same length in the same run (the
  reference: prose of words and spaces), the cost of the shape over ordinary text.

The old renderer (Python-Markdown, "extra") took 4.2 s for 5,000 ``[``, 14.9 s for 10,000
and 59.8 s for 20,000: growth about 4 per doubling, quadratic. Seconds vary with the
machine's load; the ratios are what the bench is for. No pass/fail: read the table.

Run: .venv/bin/python bench/bench_markdown.py [--lengths 5000 20000 80000 320000] [--step 4]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from common.markdown import render_markdown


def _nested_list(n: int) -> str:
    lines, depth = [], 0
    while sum(len(line) for line in lines) < n:
        lines.append("  " * (depth % 40) + "- item\n")
        depth += 1
    return "".join(lines)


def _table(n: int) -> str:
    columns = max(n // 200, 2)
    header = "|".join(["h"] * columns) + "\n" + "|".join(["-"] * columns) + "\n"
    return header + "a|" * ((n - len(header)) // 2)


SHAPES: dict[str, Callable[[int], str]] = {
    "plain text (reference)": lambda n: ("word " * (n // 5 + 1))[:n],
    "[ (the probe)": lambda n: "[" * n,
    "![": lambda n: "![" * (n // 2),
    "[a](": lambda n: "[a](" * (n // 4),
    "[ nested ]": lambda n: "[" * (n // 2) + "a" + "]" * (n // 2),
    "[a]: b refs": lambda n: "[a]: b\n" + "[a]" * (n // 3),
    "* a": lambda n: "*a " * (n // 3),
    "**": lambda n: "**" * (n // 2) + "a",
    "*_ mixed": lambda n: "*_" * (n // 2),
    "_a": lambda n: "_a" * (n // 2),
    "backticks": lambda n: "`a" * (n // 2),
    "backslashes": lambda n: "\\" * n,
    "entities &": lambda n: "&" * n,
    "<a (html)": lambda n: "<a " * (n // 3),
    "<!-- unclosed": lambda n: "<!--" * (n // 4),
    "> quotes": lambda n: ">" * n + " a",
    "- nested lists": _nested_list,
    "table cells": _table,
}


def _seconds(text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        render_markdown(text)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[5_000, 20_000, 80_000, 320_000])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per cell")
    args = parser.parse_args()
    plain = {n: _seconds(SHAPES["plain text (reference)"](n), args.repeat) for n in args.lengths}
    print(f"{'shape':24} {'length':>8} {'seconds':>9} {'growth':>7} {'vs plain':>9}")
    worst = 0.0
    for name, make in SHAPES.items():
        previous = None
        for n in args.lengths:
            seconds = _seconds(make(n), args.repeat)
            growth = f"{seconds / previous:7.1f}" if previous else f"{'':7}"
            print(f"{name:24} {n:8,} {seconds:9.4f} {growth} {seconds / plain[n]:9.1f}")
            if previous and previous > 0.01:  # below 10 ms the clock's noise dominates
                worst = max(worst, seconds / previous)
            previous = max(seconds, 1e-6)
    step = args.lengths[1] / args.lengths[0] if len(args.lengths) > 1 else 0
    print(
        f"\nlargest growth over a x{step:g} step (cells above 10 ms): {worst:.1f}"
        f" (linear: about {step:g}; quadratic: about {step * step:g})"
    )


if __name__ == "__main__":
    main()
