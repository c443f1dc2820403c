"""``chal release-check TASK FILE``: would this prediction file be the task's champion?

The server weighs the file against the task's champion (the regression gate) and stores
nothing: no submission is spent, one of the team's daily release checks is. The command
prints the verdict and its figures, naming the rule that broke (or, where the server
withholds the figures, why: too few changed rows, or a ladder board's public split before
the reveal), and exits 0 when the gate passes, 1 when it fails (or the server refused), 3
when it cannot tell (the split is too small to bound the breaks: it prints how many rows
would), 4 when the task has no champion yet (nothing to weigh the file against), so a data
owner's CI pipeline can call it before shipping a model::

    chal release-check product-matching predictions.parquet || exit 1
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .client import ApiError, Client, UsageError
from .output import DASH, interval, percent, table


def _number(value: object, sign: bool = False) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:+.4f}" if sign else f"{value:.4f}"
    return DASH


def _pair(values: object) -> tuple[object, object]:
    return tuple(values) if isinstance(values, list) and len(values) == 2 else (None, None)


EXIT = {"passes": 0, "fails": 1, "cannot_tell": 3}
# The task has no champion yet (the server's 409 ``no_champion``): nothing to weigh against,
# which is neither a pass nor a failure of the file.
NO_CHAMPION = 4
RULE_WORDS = {
    "improvement": "not shown better than the champion",
    "nfr": "breaks too many rows the champion had right",
    "slice": "a slice breaks",
}


def verdict_of(doc: dict[str, Any]) -> str:
    """The answer's verdict (a server without one: from ``passes``)."""
    verdict = doc.get("verdict")
    if verdict in EXIT:
        return verdict
    return "passes" if doc.get("passes") else "fails"


def headline(doc: dict[str, Any]) -> str:
    """The verdict in words, naming the rule that failed or the rows a verdict needs."""
    verdict = verdict_of(doc)
    if verdict == "passes":
        return "PASSES"
    if verdict == "cannot_tell":
        needed = doc.get("rows_needed")
        if isinstance(needed, int):
            return f"CANNOT TELL (too few rows to bound the NFR; about {needed:,} rows needed)"
        return "CANNOT TELL (too few rows to bound the NFR)"
    rule = doc.get("rule")
    return f"FAILS ({rule}: {RULE_WORDS[rule]})" if rule in RULE_WORDS else "FAILS"


def report(doc: dict[str, Any]) -> list[str]:
    """The verdict in lines: the gate's three conditions, then the slices and broken rows."""
    champion = (doc.get("champion") or {}).get("name") or "the champion"
    lines = [f"Release check against {champion} on the {doc.get('split')} split: {headline(doc)}"]
    if doc.get("withheld"):
        # The server withholds the figures (too few changed rows, or a ladder board's public
        # split): its reasons say why, in words; the verdict stands.
        lines.append(f"  Figures withheld: {doc['withheld']}")
        lines += [f"  {reason}" for reason in doc.get("reasons") or []]
        return lines + _budget(doc)
    lines += [
        f"  {doc.get('metric', 'metric')} difference {_number(doc.get('difference'), sign=True)}"
        f" {interval(*_pair(doc.get('ci'))) or '(no interval)'}",
        f"  NFR {percent(doc.get('nfr'))} {interval(*_pair(doc.get('nfr_ci')))}"
        f" (bound {percent(doc.get('epsilon'))}), PFR {percent(doc.get('pfr'))}"
        f" {interval(*_pair(doc.get('pfr_ci')))}",
    ]
    mcnemar = doc.get("mcnemar") or {}
    if mcnemar:
        p = mcnemar.get("p")
        lines.append(
            f"  McNemar: {mcnemar.get('fixes')} fixed, {mcnemar.get('breaks')} broken"
            + (f", p = {p:.3g}" if isinstance(p, int | float) else " (no test: not labels)")
        )
    if doc.get("opis_change") is not None:
        lines.append(f"  OPIS change {_number(doc.get('opis_change'), sign=True)}")
    lines += [f"  {reason}" for reason in doc.get("reasons") or []]
    slices = doc.get("slices") or []
    if slices:
        lines.append("")
        rows = [
            [s["column"], s["value"], s["rows"], percent(s["nfr"]), percent(s["nfr_upper"])]
            for s in slices
        ]
        lines.append(table(["column", "value", "rows", "nfr", "nfr_upper"], rows))
    broken = doc.get("broken_ids") or []
    if broken:
        shown = ", ".join(str(i) for i in broken[:20])
        more = f" (+{len(broken) - 20} more)" if len(broken) > 20 else ""
        lines.append(f"Broken public rows: {shown}{more}")
    return lines + _budget(doc)


def _budget(doc: dict[str, Any]) -> list[str]:
    budget = doc.get("budget")
    if not isinstance(budget, dict):
        return []
    return [
        f"Release checks of this task today: {budget.get('used')} of {budget.get('limit')} "
        f"used (resets {budget.get('resets_at')})"
    ]


def cmd_release_check(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    client = make_client(args, login=True)
    try:
        doc = client.upload(
            f"tasks/{quote(args.task, safe='')}/release-check/", file=path, fields={}
        )
    except ApiError as exc:
        if exc.code == "no_champion":
            exc.exit_code = NO_CHAMPION
        raise
    if args.json:
        print_json(doc)
    else:
        print("\n".join(report(doc)))
    return EXIT[verdict_of(doc)]


def add_parser(
    commands: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    """``chal release-check``."""
    p = commands.add_parser(
        "release-check",
        parents=[common, as_json],
        help="would this prediction file be the task's champion? (exit 0 yes, 1 no, 3 cannot "
        "tell, 4 no champion yet)",
        description="Weigh a prediction file against the task's champion (the regression "
        "gate) without submitting it: nothing is stored and no submission is spent (one of "
        "the team's daily release checks is). Exit status 0 when the gate passes, 1 when it "
        "fails (or the server refused), 3 when it cannot tell: the split is too small to bound "
        "the rows it breaks (the rows needed are printed), 4 when the task has no champion "
        "yet.",
    )
    p.add_argument("task", help="the task's slug")
    p.add_argument("file", help="CSV, gzipped CSV or Parquet with id, label[, proba_*|score]")
    p.set_defaults(handler=handler)
