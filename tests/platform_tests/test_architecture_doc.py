"""What the docs list and the code also lists cannot drift apart (docs/architecture.md).

- every process of the ``Procfile`` is in the architecture's §6 table, and nothing else is;
- every management command (each module under ``management/commands/`` of any app, at any
  depth: ``challenges/accounts`` is an app inside an app) is in §7's table;
- every import-linter contract of ``pyproject.toml`` is named, exactly, in §2's list;
- every top-level package of the product (the command-line client, its own distribution,
  aside) is a row of §2's table of layers;
- every module of ``jobs/`` (and each of its sub-folders) is in "The job lifecycle"'s table;
- no product module connects a receiver to a Django model signal (``pre_delete``,
  ``post_save``, ...) but the one exception "The event path" writes down;
- every environment variable the settings read is on the configuration page, and every
  variable that page lists is read somewhere in the product.

Each list is read from the code itself, so a new process, command, contract or setting fails
here until the docs say what it is.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from runtime.procfile import processes

REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO / "docs" / "architecture.md"
CONFIGURE = REPO / "docs" / "operators" / "configure.md"
# Every settings module but test.py, the suite's own (base.py gathers environment.py, storage.py,
# runs.py and jobs.py).
SETTINGS = sorted(
    path.name
    for path in (REPO / "challenge_platform" / "settings").glob("*.py")
    if path.name not in {"__init__.py", "test.py"}
)
# Read by settings through these helpers (challenge_platform/settings/environment.py).
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


NOT_SEARCHED = (".venv", "tests", "testkit", "bench", "docs", "node_modules")


def management_commands(root: Path = REPO) -> set[str]:
    """Every command module of every app, however deep the app sits (``challenges/accounts``)."""
    return {
        path.stem
        for path in root.rglob("management/commands/*.py")
        if not path.name.startswith("_")
        and path.relative_to(root).parts[0] not in NOT_SEARCHED
        and path.parent.parent.parent.joinpath("__init__.py").is_file()
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
    skipped = ("tests", "testkit", "bench", "docs", ".venv", "client")
    text = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in product
        if p.is_file() and p.relative_to(REPO).parts[0] not in skipped
    )
    unread = [name for name in sorted(documented_variables()) if name not in text]
    assert unread == []


def top_level_packages() -> set[str]:
    """The repository's top-level Python packages but the suite's and the benches'."""
    return {
        path.parent.name
        for path in REPO.glob("*/__init__.py")
        if path.parent.name not in NOT_SEARCHED
    }


def test_every_package_is_a_layer_in_the_architecture() -> None:
    listed = table_names(section(ARCHITECTURE.read_text(encoding="utf-8"), "2. Layers and apps"))
    packages = top_level_packages()
    assert {"challenges", "runtime", "jobs", "site_pages"} <= packages
    assert sorted(packages - listed) == [], "packages missing from §2's layers"
    assert sorted(listed - packages) == [], "§2 lists layers that are not packages"


def jobs_modules(root: Path = REPO / "jobs") -> set[str]:
    """``jobs/<module>.py`` and ``jobs/<folder>/`` of the jobs app (its ``__init__`` aside)."""
    return {
        f"jobs/{path.name}/" if path.is_dir() else f"jobs/{path.name}"
        for path in root.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and path.name != "__pycache__" and any(path.rglob("*.py")))
    }


def listed_jobs_modules(text: str) -> set[str]:
    return set(
        re.findall(r"^\| `(jobs/[\w./]+)` \|", section(text, "The job lifecycle"), flags=re.M)
    )


def test_every_jobs_module_is_in_the_architecture() -> None:
    listed = listed_jobs_modules(ARCHITECTURE.read_text(encoding="utf-8"))
    modules = jobs_modules()
    assert {"jobs/lifecycle.py", "jobs/celery.py", "jobs/migrations/"} <= modules
    assert sorted(modules - listed) == [], "jobs/ modules missing from \"The job lifecycle\""
    assert sorted(listed - modules) == [], "\"The job lifecycle\" lists modules jobs/ lacks"


MODEL_SIGNALS_MODULE = "django.db.models.signals"
# The one use of a model signal, written down in "The event path": a deleted row's files.
SIGNAL_EXCEPTION = {("challenges/stored_files.py", "pre_delete")}


def model_signals_connected(source: str) -> set[str]:
    """The Django model signals ``source`` connects a receiver to (``.connect(...)`` or
    ``@receiver(...)``), however it imported them."""
    tree = ast.parse(source)
    names: dict[str, str] = {}  # a local name -> the model signal it is
    modules: set[str] = set()  # local names of the signals module itself
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == MODEL_SIGNALS_MODULE:
            names.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module == "django.db.models":
            modules.update(a.asname or a.name for a in node.names if a.name == "signals")
        elif isinstance(node, ast.Import):
            modules.update(a.asname for a in node.names if a.name == MODEL_SIGNALS_MODULE)

    def signal(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = ast.unparse(node.value)
            if owner in modules or owner.endswith(("models.signals", "django.db.models.signals")):
                return node.attr
        return None

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "connect":
                found.add(signal(func.value))
            elif ast.unparse(func).split(".")[-1] == "receiver" and node.args:
                first = node.args[0]
                listed = first.elts if isinstance(first, ast.List | ast.Tuple) else [first]
                found.update(signal(e) for e in listed)
    return found - {None}


def product_modules() -> list[Path]:
    skipped = (*NOT_SEARCHED, "scripts", "client")
    return [
        path
        for path in REPO.rglob("*.py")
        if path.relative_to(REPO).parts[0] not in skipped and "migrations" not in path.parts
    ]


def test_model_signals_are_used_only_where_the_architecture_says() -> None:
    connected = {
        (path.relative_to(REPO).as_posix(), name)
        for path in product_modules()
        for name in model_signals_connected(path.read_text(encoding="utf-8"))
    }
    assert connected == SIGNAL_EXCEPTION, "a model signal the architecture does not name"
    event_path = section(ARCHITECTURE.read_text(encoding="utf-8"), "The event path")
    for module, name in SIGNAL_EXCEPTION:
        assert f"`{module}`" in event_path and f"`{name}`" in event_path


def test_the_signal_check_sees_every_way_of_connecting() -> None:
    assert model_signals_connected(
        "from django.db.models.signals import post_save as saved, pre_delete\n"
        "from django.dispatch import receiver\n"
        "@receiver([saved])\ndef a(**kw): ...\n"
        "pre_delete.connect(a, sender='x.Y')\n"
    ) == {"post_save", "pre_delete"}
    assert model_signals_connected(
        "from django.db.models import signals\nimport django.db.models.signals\n"
        "signals.m2m_changed.connect(f)\ndjango.db.models.signals.post_delete.connect(f)\n"
    ) == {"m2m_changed", "post_delete"}
    assert model_signals_connected(
        "from django.core.signals import setting_changed\nfrom django.dispatch import receiver\n"
        "@receiver(setting_changed)\ndef a(**kw): ...\nworker_ready.connect(a)\n"
    ) == set()


def test_commands_are_found_at_any_depth(tmp_path: Path) -> None:
    """An app inside a package has its commands found too; the suite's and the venv's are not."""
    for folder in ("shop/accounts", "tests/x_tests", ".venv/lib/django"):
        commands = tmp_path / folder / "management" / "commands"
        commands.mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
        (commands / "__init__.py").write_text("")
        (commands / f"{folder.split('/')[0].strip('.')}_cmd.py").write_text("")
    assert management_commands(tmp_path) == {"shop_cmd"}
    assert "changepassword" in management_commands()


def test_the_checks_see_a_missing_entry() -> None:
    """The parsers find what a reader would miss: a process, a command, a contract."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    without = text.replace("| `renders` |", "| renders |").replace("| `score_file` |", "| x |")
    assert "renders" not in table_names(section(without, "6. Processes"))
    assert "score_file" not in table_names(section(without, "7. Interfaces"))
    assert "jobs/consumer.py" in listed_jobs_modules(text)
    without_consumer = text.replace("| `jobs/consumer.py` |", "|")
    assert "jobs/consumer.py" not in listed_jobs_modules(without_consumer)
    first = contract_names()[0]
    assert first in listed_contracts(text)
    assert first not in listed_contracts(text.replace(f"- {first}\n", ""))
