"""What the docs list and the code also lists cannot drift apart (docs/architecture.md).

- every process of the ``Procfile`` is in the architecture's §6 table, and nothing else is;
- every management command (each module under ``*/management/commands/``) is in §7's table;
- every import-linter contract of ``pyproject.toml`` is named, exactly, in §2's list;
- every environment variable the settings read is on the configuration page, and every
  variable that page lists is read somewhere in the product.

Each list is read from the code itself, so a new process, command, contract or setting fails
here until the docs say what it is.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from runtime.procfile import processes

REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO / "docs" / "architecture.md"
CONFIGURE = REPO / "docs" / "operators" / "configure.md"
SETTINGS = ["base.py", "local.py", "production.py"]  # test.py is the suite's own
# Read by settings through these helpers (challenge_platform/settings/base.py).
ENV_READ = re.compile(
    r"""\b(?:env|env_int|env_list|env_float|env_bool|getenv|environ\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def section(text: str, heading: str) -> str:
    """The text under ``heading`` (a ``## `` line starting with it) up to the next ``## ``."""
    start = re.search(rf"^## {re.escape(heading)}.*$", text, flags=re.M)
    assert start, f"no section {heading!r}"
    rest = text[start.end() :]
    end = re.search(r"^## ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def table_names(text: str) -> set[str]:
    """The first column's ``code`` names of the Markdown tables in ``text``."""
    return set(re.findall(r"^\| `([\w-]+)` \|", text, flags=re.M))


def management_commands() -> set[str]:
    return {
        path.stem
        for path in REPO.glob("*/management/commands/*.py")
        if not path.name.startswith("_")
    }


def contract_names() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in pyproject["tool"]["importlinter"]["contracts"]]


def test_every_procfile_process_is_in_the_architecture() -> None:
    listed = table_names(section(ARCHITECTURE.read_text(encoding="utf-8"), "6. Processes"))
    procfile = set(processes())
    assert len(procfile) >= 7
    assert procfile - listed == set(), "Procfile processes missing from §6"
    assert listed - procfile == set(), "§6 lists processes the Procfile does not have"


def test_every_management_command_is_in_the_architecture() -> None:
    listed = table_names(section(ARCHITECTURE.read_text(encoding="utf-8"), "7. Interfaces"))
    commands = management_commands()
    assert {"runplatform", "import_task", "finish_challenge"} <= commands
    assert commands - listed == set(), "management commands missing from §7"
    assert listed - commands == set(), "§7 lists commands that do not exist"


def test_every_import_contract_is_named_in_the_architecture() -> None:
    listed = listed_contracts(ARCHITECTURE.read_text(encoding="utf-8"))
    names = contract_names()
    assert len(names) >= 11
    assert [n for n in names if n not in listed] == [], "contracts missing from §2"
    assert [n for n in listed if n not in names] == [], "§2 names contracts pyproject lacks"


def listed_contracts(text: str) -> list[str]:
    """The bullets of §2's "The import contracts", up to its next sub-section."""
    part = section(text, "2. Layers and apps").split("### The import contracts", 1)[1]
    return re.findall(r"^- (.+)$", part.split("\n### ", 1)[0], flags=re.M)


def settings_variables() -> set[str]:
    folder = REPO / "challenge_platform" / "settings"
    return {
        name
        for file in SETTINGS
        for name in ENV_READ.findall((folder / file).read_text(encoding="utf-8"))
    }


def documented_variables() -> set[str]:
    """The variables the configuration table lists (its first column may name several)."""
    rows = [
        line for line in CONFIGURE.read_text(encoding="utf-8").splitlines() if line[:3] == "| `"
    ]
    return {
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])
    }


def test_every_setting_read_from_the_environment_is_on_the_configuration_page() -> None:
    read = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALGORITHM_MEMORY_MB"} <= read
    assert sorted(read - documented_variables()) == []


def test_every_variable_the_configuration_page_lists_is_read_by_the_product() -> None:
    """The other way round: a documented variable nothing reads is a setting that does nothing."""
    product = [
        *REPO.glob("*/**/*.py"),
        REPO / "Procfile",
        *REPO.glob("docker/*"),
        *REPO.glob("scripts/*.sh"),
    ]
    skipped = ("tests", "bench", "docs", ".venv", "client")
    text = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in product
        if p.is_file() and p.relative_to(REPO).parts[0] not in skipped
    )
    unread = [name for name in sorted(documented_variables()) if name not in text]
    assert unread == []


def test_the_checks_see_a_missing_entry() -> None:
    """The parsers find what a reader would miss: a process, a command, a contract."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    without = text.replace("| `renders` |", "| renders |").replace("| `score_file` |", "| x |")
    assert "renders" not in table_names(section(without, "6. Processes"))
    assert "score_file" not in table_names(section(without, "7. Interfaces"))
    first = contract_names()[0]
    assert first in listed_contracts(text)
    assert first not in listed_contracts(text.replace(f"- {first}\n", ""))
