"""The manual's picture of the layers (docs/developers/layout.md), drawn from the import-linter
contracts in pyproject.toml (the one source: the contracts are what `make test` checks, the
picture only shows them).

    .venv/bin/python scripts/layers_diagram.py            # print the Mermaid block
    .venv/bin/python scripts/layers_diagram.py --write    # put it in docs/developers/layout.md
    .venv/bin/python scripts/layers_diagram.py --check    # exit 1 when the page differs

The block is a Mermaid flowchart (GitHub draws it): the `layers` contract top to bottom, each
layer with the parts that import no Django (the `forbidden` contracts that forbid `django`),
and the root packages outside the layers. tests/platform_tests/test_layers_diagram.py runs
``--check``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN = "<!-- layers: drawn by scripts/layers_diagram.py from pyproject.toml; do not edit -->"
END = "<!-- end of layers -->"


def _contracts(pyproject: dict) -> list[dict]:
    return pyproject["tool"]["importlinter"]["contracts"]


def _layers(pyproject: dict) -> list[str]:
    (contract,) = [c for c in _contracts(pyproject) if c["type"] == "layers"]
    return [layer.strip("()") for layer in contract["layers"]]


def _without_django(pyproject: dict) -> list[str]:
    """Modules that a contract forbids to import Django, in the contracts' order."""
    found: list[str] = []
    for contract in _contracts(pyproject):
        if contract["type"] == "forbidden" and "django" in contract["forbidden_modules"]:
            found += [m for m in contract["source_modules"] if m not in found]
    return found


def _node(name: str) -> str:
    return "pkg_" + name.replace(".", "_")  # never a Mermaid keyword (end, graph...)


def _apart(pyproject: dict, package: str) -> bool:
    """Whether a contract forbids ``package`` every layer (it imports none of the apps)."""
    layers = set(_layers(pyproject))
    return any(
        c["type"] == "forbidden"
        and package in c["source_modules"]
        and layers <= set(c["forbidden_modules"])
        for c in _contracts(pyproject)
    )


def _label(pyproject: dict, package: str) -> str:
    pure = _without_django(pyproject)
    notes = []
    if _apart(pyproject, package):
        notes.append("imports none of the apps")
    if package in pure:
        notes.append("imports no Django")
    else:
        parts = [m.removeprefix(package + ".") for m in pure if m.startswith(package + ".")]
        if parts:
            notes.append(f"no Django in: {', '.join(parts)}")
    return "<br/>".join([package, *(f"<i>{note}</i>" for note in notes)])


def mermaid(pyproject: dict) -> str:
    """The fenced Mermaid block for ``pyproject`` (a parsed pyproject.toml)."""
    layers = _layers(pyproject)
    outside = [p for p in pyproject["tool"]["importlinter"]["root_packages"] if p not in layers]
    lines = [
        "```mermaid",
        "flowchart TB",
        '  subgraph apps["apps, top to bottom: each imports only the layers below it"]',
        "    direction TB",
    ]
    lines += [f'    {_node(p)}["{_label(pyproject, p)}"]' for p in layers]
    lines += [f"    {_node(a)} --> {_node(b)}" for a, b in itertools.pairwise(layers)]
    lines.append("  end")
    lines += [f'  {_node(p)}["{_label(pyproject, p)}"]' for p in outside]
    lines.append("```")
    return "\n".join(lines)


def readme_block(text: str) -> str | None:
    """The block between the markers in ``text``, or None without them."""
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def with_block(text: str, block: str) -> str:
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml")
    parser.add_argument(
        "--page", "--readme", dest="readme", type=Path, default=REPO / "docs/developers/layout.md"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="put the block in the page")
    action.add_argument("--check", action="store_true", help="exit 1 when the page differs")
    args = parser.parse_args(argv)
    block = mermaid(tomllib.loads(args.pyproject.read_text(encoding="utf-8")))
    if not (args.write or args.check):
        print(block)
        return 0
    text = args.readme.read_text(encoding="utf-8")
    if readme_block(text) is None:
        print(f"{args.readme}: no '{BEGIN}' ... '{END}' markers", file=sys.stderr)
        return 1
    if args.check:
        if readme_block(text) != block:
            print(
                f"{args.readme}'s picture of the layers is not what {args.pyproject.name} says; "
                "run: .venv/bin/python scripts/layers_diagram.py --write",
                file=sys.stderr,
            )
            return 1
        return 0
    args.readme.write_text(with_block(text, block), encoding="utf-8")
    print(f"{args.readme}: the picture of the layers is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
