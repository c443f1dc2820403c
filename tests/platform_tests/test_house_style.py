"""The house style, checked on the product code (docs/architecture.md §2, "House style").

- Every public function of a services or selectors module takes keyword-only arguments:
  a call reads as what it passes (``submission_create(task=..., user=..., file=...)``).
- No product function is above cyclomatic complexity 25 (radon's measure).
- The code explains itself from the repository: it cites no document outside it (the design
  notes it was first written from), and every document it cites exists, down to the
  numbered section of docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from radon.complexity import cc_visit

REPO = Path(__file__).resolve().parents[2]
PRODUCT_ROOTS = (
    "challenge_platform", "common", "kinds", "jobs", "datasets", "scoring", "leaderboard",
    "operations", "algorithms", "standings", "notifications", "site_pages", "client",
)  # fmt: skip
MAX_COMPLEXITY = 25


def product_files(suffixes: tuple[str, ...] = (".py",)) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [
        REPO / name
        for name in listed
        if name.split("/", 1)[0] in PRODUCT_ROOTS
        and name.endswith(suffixes)
        and "/migrations/" not in name
        and (REPO / name).is_file()
    ]


def is_service_or_selector(path: Path) -> bool:
    parts = path.relative_to(REPO).parts
    name = path.name
    return (
        name in ("services.py", "selectors.py")
        or "services" in parts[:-1]
        or name.endswith(("_services.py", "_selectors.py"))
    )


def positional_parameters(source: str) -> list[str]:
    """``name(params)`` of the module's public functions that take a positional parameter."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith(
            "_"
        ):
            positional = [a.arg for a in node.args.posonlyargs + node.args.args]
            if positional:
                found.append(f"{node.name}({', '.join(positional)})")
    return found


def test_public_services_and_selectors_take_keyword_only_arguments() -> None:
    modules = [p for p in product_files() if is_service_or_selector(p)]
    assert len(modules) > 20, "no services or selectors modules found: the pattern is wrong"
    offenders = [
        f"{path.relative_to(REPO)}: {signature}"
        for path in modules
        for signature in positional_parameters(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "positional parameters (make them keyword-only):\n" + "\n".join(
        offenders
    )


def test_the_keyword_only_check_finds_what_it_looks_for() -> None:
    source = "def a(x, *, y): ...\ndef b(*, y): ...\ndef _c(x): ...\ndef d(x, /): ...\n"
    assert positional_parameters(source) == ["a(x)", "d(x)"]


def test_no_product_function_is_above_complexity_25() -> None:
    too_complex = []
    for path in product_files():
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if block.complexity > MAX_COMPLEXITY:
                too_complex.append(
                    f"{path.relative_to(REPO)}:{block.lineno} {block.fullname} {block.complexity}"
                )
    assert not too_complex, f"above complexity {MAX_COMPLEXITY}:\n" + "\n".join(too_complex)


OUTSIDE_DOCUMENTS = re.compile(r"DESIGN §|DESIGN\.md|STYLE\.md|\bSTYLE\b[:,]|\(STYLE\b|shared/")
CITED_PATH = re.compile(r"\bdocs/[\w./-]+\.md\b")
SECTION = re.compile(r"docs/developers/architecture\.md,? §(\d+)")


def test_the_code_cites_no_document_outside_the_repository() -> None:
    files = product_files((".py", ".html", ".js", ".sh", ".toml", ".txt", ".yaml"))
    files += [REPO / "Procfile", REPO / "README.md", *(REPO / "docs").rglob("*.md")]
    found = [
        f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for path in files
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for m in OUTSIDE_DOCUMENTS.finditer(text)
    ]
    assert not found, "\n".join(found)


def test_every_document_the_code_cites_exists() -> None:
    sections = {
        int(m.group(1))
        for m in re.finditer(
            r"^## (\d+)\. ", (REPO / "docs/architecture.md").read_text(), re.MULTILINE
        )
    }
    assert sections == set(range(1, 14))
    missing = []
    files = [*product_files((".py", ".html", ".js", ".sh")), REPO / "README.md"]
    cited = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITED_PATH.finditer(text):
            cited += 1
            if not (REPO / m.group(0)).is_file():
                missing.append(f"{path.relative_to(REPO)}: {m.group(0)}")
        for m in SECTION.finditer(text):
            if int(m.group(1)) not in sections:
                missing.append(f"{path.relative_to(REPO)}: {m.group(0)}")
    assert cited > 20, "no document cited at all: the pattern is wrong"
    assert not missing, "\n".join(missing)
