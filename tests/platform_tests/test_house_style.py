"""The house style, checked on the product code (docs/architecture.md §2, "House style").

- Every public function of a services or selectors module takes keyword-only arguments:
  a call reads as what it passes (``submission_create(task=..., user=..., file=...)``).
- So does every public module-level function of a domain module
  (docs/decisions/0078-keyword-only-everywhere-in-the-domain.md): a module of the apps
  algorithms, challenges, datasets, discussion, jobs, leaderboard, notifications, operations,
  scoring, site_pages and standings, but not their pure cores (``core/``, ``core.py``), the
  sandbox and the archives run as programs, migrations, or the thin layers whose signatures
  the framework gives (views, API views, admin, URLs, app configs, models, forms,
  serializers, tasks, task names, receivers, commands, template tags). A function a library
  calls positionally is named, with its reason, in ``POSITIONAL_BY_CONTRACT``.
- No product function is above cyclomatic complexity 25 (radon's measure).
- The code explains itself from the repository: it cites no document outside it (the design
  notes it was first written from), and every document it cites exists, down to the
  section of docs/architecture.md it names ("docs/architecture.md §12", or by title:
  "docs/architecture.md, \"Lost messages\"", "docs/architecture.md, House style: services").

The product is every top-level package of the repository but the suite, its shared helpers
(``testkit``), the benches, the docs and the scripts, read from the repository itself, so a
new app is checked from its first commit.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from radon.complexity import cc_visit

REPO = Path(__file__).resolve().parents[2]
NOT_PRODUCT = ("tests", "testkit", "bench", "docs", "scripts")
MAX_COMPLEXITY = 25
# A module longer than this holds more than one idea: split it by what the code does.
MAX_MODULE_LINES = 600


def repository_files() -> list[str]:
    return subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def product_roots(names: list[str]) -> set[str]:
    """Every top-level folder holding Python, but the suite, the benches, docs and scripts."""
    return {
        name.split("/", 1)[0]
        for name in names
        if "/" in name and name.endswith(".py") and name.split("/", 1)[0] not in NOT_PRODUCT
    }


PRODUCT_ROOTS = frozenset(product_roots(repository_files()))


def test_the_product_roots_are_every_top_level_package() -> None:
    assert {"challenges", "runtime", "leaderboard", "jobs", "client", "site_pages"} <= PRODUCT_ROOTS
    assert PRODUCT_ROOTS.isdisjoint(NOT_PRODUCT)
    new_app = product_roots(["manage.py", "newapp/models.py", "tests/x_tests/test_y.py"])
    assert new_app == {"newapp"}


def product_files(suffixes: tuple[str, ...] = (".py",)) -> list[Path]:
    listed = repository_files()
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
    assert not offenders, "positional parameters (make them keyword-only):\n" + "\n".join(offenders)


def test_the_keyword_only_check_finds_what_it_looks_for() -> None:
    source = "def a(x, *, y): ...\ndef b(*, y): ...\ndef _c(x): ...\ndef d(x, /): ...\n"
    assert positional_parameters(source) == ["a(x)", "d(x)"]


# --- Keyword-only: every public function of the domain ------------------------------------------
# The domain packages are the Django apps that hold the platform's own work. Left out, as roots:
# challenge_platform (settings, WSGI, the Celery app), runtime (the processes), client (the CLI
# client, a distribution of its own), common and kinds (pure helpers and the task kinds' metric
# functions, positional by the math: ``f1(y_true, y_pred)``).
DOMAIN_PACKAGES = (
    "algorithms", "challenges", "datasets", "discussion", "jobs", "leaderboard", "notifications",
    "operations", "scoring", "site_pages", "standings",
)  # fmt: skip
# Inside them, left out: the pure cores (``core/`` packages and ``core.py`` modules, numpy-style
# signatures, no Django), the sandbox and the archives run as programs (not imported), and the
# thin layers whose signatures the framework gives (a view's ``request``, a filter's value, a
# command's ``handle``): a package or module of one of these names, or a module ending in
# ``_views`` or ``_api``.
NOT_DOMAIN_PARTS = frozenset({"core", "sandbox", "builtin", "demo_algorithms", "migrations"})
THIN_LAYERS = frozenset({
    "management", "templatetags", "views", "api", "admin", "urls", "apps", "models", "forms",
    "serializers", "tasks", "task_names", "receivers",
})  # fmt: skip

# Where a library (or the platform's own callback contract) calls a function positionally: the
# one list of exceptions, each with its reason.
RECEIVER = "a hook receiver: challenges.hooks.emit calls receiver(event)"
NOTIFICATION_RECEIVERS = (
    "on_team_member_joined", "on_audit_recorded", "on_challenge_finished", "on_board_refreshed",
    "on_submission_finished", "on_task_data_changed", "on_champion_changed",
    "on_challenge_phases_changed", "on_discussion_posted",
)  # fmt: skip
POSITIONAL_BY_CONTRACT = {
    "algorithms/owner_page.py:baseline_part": "an OwnerSection's context: called context(task)",
    "algorithms/owner_page.py:baseline_queue_post": "an OwnerSection's post(request, task)",
    "challenges/accounts/usernames.py:validate_username": "a Django validator: validator(value)",
    "challenges/run_budget.py:run_budget_validate": "a Django field validator: validator(value)",
    "challenges/stored_files.py:every_file_field": "forget_on_delete's files(row) callback",
    "challenges/team_names.py:name_key": "a key function: unique_name_keys calls key(name)",
    "challenges/team_names.py:name_glyph_key": "a key function: unique_name_keys calls key(name)",
    "jobs/celery.py:route_task": "a Celery router: route(name, args, kwargs, options, task)",
    "jobs/lifecycle.py:retry_countdown": "JobType.backoff's default: backoff(attempts)",
    "jobs/worker.py:sweep_lost": "Liveness's sweep(holder, reason) callback",
    "jobs/worker.py:republish_all": "Liveness's broker_reset(reason), run as a thread's target",
    **{f"notifications/hooks.py:{name}": RECEIVER for name in NOTIFICATION_RECEIVERS},
    "leaderboard/task_page.py:task_detail": "a Django view: view(request, slug)",
}


def is_domain_module(relative: str) -> bool:
    """Whether ``relative`` (a repository path) is a module of the domain (above)."""
    parts = relative.removesuffix(".py").split("/")
    folders, stem = parts[:-1], parts[-1]
    return (
        relative.endswith(".py")
        and parts[0] in DOMAIN_PACKAGES
        and not (NOT_DOMAIN_PARTS | THIN_LAYERS) & set(folders)
        and stem not in NOT_DOMAIN_PARTS | THIN_LAYERS
        and not stem.endswith(("_views", "_api"))
    )


def domain_offenders(modules: dict[str, str]) -> list[str]:
    """``path: name(params)`` of each public function of the domain ``modules`` (path -> source)
    with a positional parameter, but those of :data:`POSITIONAL_BY_CONTRACT`."""
    found = []
    for path, source in modules.items():
        if not is_domain_module(path):
            continue
        for signature in positional_parameters(source):
            key = f"{path}:{signature.split('(', 1)[0]}"
            if key not in POSITIONAL_BY_CONTRACT:
                found.append(f"{path}: {signature}")
    return found


def domain_sources() -> dict[str, str]:
    return {
        str(path.relative_to(REPO)): path.read_text(encoding="utf-8")
        for path in product_files()
        if is_domain_module(str(path.relative_to(REPO)))
    }


def test_every_public_domain_function_takes_keyword_only_arguments() -> None:
    """Every public module-level function of a domain module (the definition above) takes
    keyword-only arguments, but the listed ones a library calls positionally."""
    sources = domain_sources()
    assert len(sources) > 150, "few domain modules found: the definition is wrong"
    offenders = domain_offenders(sources)
    assert not offenders, "positional parameters (make them keyword-only):\n" + "\n".join(offenders)


def test_every_exception_to_keyword_only_is_still_needed() -> None:
    """The allow-list names only functions that exist, in the domain, and are positional (a
    function made keyword-only leaves the list)."""
    sources = domain_sources()
    for key in POSITIONAL_BY_CONTRACT:
        path, name = key.split(":")
        assert path in sources, f"{key}: not a domain module"
        assert any(s.startswith(f"{name}(") for s in positional_parameters(sources[path])), key


def test_the_domain_check_finds_a_planted_positional_function() -> None:
    planted = "def team_rename(team, *, name): ...\ndef team_disband(*, team): ...\n"
    assert domain_offenders({"challenges/planted.py": planted}) == [
        "challenges/planted.py: team_rename(team)"
    ]
    assert domain_offenders({"datasets/core/planted.py": planted}) == []  # a pure core
    assert domain_offenders({"scoring/views.py": planted}) == []  # a thin layer
    assert domain_offenders({"kinds/planted.py": planted}) == []  # not a domain package
    excused = "def validate_username(value): ...\n"
    assert domain_offenders({"challenges/accounts/usernames.py": excused}) == []
    assert is_domain_module("jobs/lifecycle.py") and is_domain_module("datasets/demo/pairs.py")
    assert not is_domain_module("scoring/owner_views.py")
    assert not is_domain_module("algorithms/admin/runs.py")
    assert not is_domain_module("operations/demo_algorithms/majority/main.py")


def modules_over(limit: int, sources: dict[str, str]) -> list[str]:
    """``path: N lines`` of each module of ``sources`` (path -> text) longer than ``limit``."""
    return [
        f"{path}: {len(text.splitlines())} lines"
        for path, text in sorted(sources.items())
        if len(text.splitlines()) > limit
    ]


def test_no_product_module_is_over_600_lines() -> None:
    sources = {
        str(path.relative_to(REPO)): path.read_text(encoding="utf-8") for path in product_files()
    }
    assert len(sources) > 300, "few product modules found: the pattern is wrong"
    too_long = modules_over(MAX_MODULE_LINES, sources)
    assert not too_long, f"over {MAX_MODULE_LINES} lines (split by what the code does):\n" + (
        "\n".join(too_long)
    )


def test_the_line_check_finds_a_long_module() -> None:
    assert modules_over(3, {"a.py": "1\n2\n3\n", "b.py": "1\n2\n3\n4\n"}) == ["b.py: 4 lines"]


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
# A citation of the architecture page, as the code writes it: by number ("§12", "§6, §7"), by a
# heading's title in quotes, or by a heading's title and a topic of it ("House style: Celery").
# A citation may wrap onto the next line of a docstring or a comment.
CITED_SECTION = re.compile(
    r"docs/architecture\.md,?\s+(?:#\s*)?"
    r'(?:(?P<numbers>§\d+(?:,\s*§\d+)*)|"(?P<quoted>[^"]+)"|(?P<bare>[A-Z][^":\n]*?):)'
)
ARCHITECTURE = REPO / "docs" / "architecture.md"


def architecture_sections() -> tuple[set[int], set[str]]:
    """The page's numbered sections and the titles of its sections and sub-sections."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    numbers = {int(n) for n in re.findall(r"^## (\d+)\. ", text, flags=re.M)}
    titles = set(re.findall(r"^###? (?:\d+\. )?(.+?)\s*$", text, flags=re.M))
    return numbers, titles


def cited_sections(text: str) -> list[int | str]:
    """Every section of docs/architecture.md ``text`` cites: a number, or a title."""
    cited: list[int | str] = []
    for m in CITED_SECTION.finditer(text):
        if m.group("numbers"):
            cited += [int(n) for n in re.findall(r"\d+", m.group("numbers"))]
        else:
            title = m.group("quoted") or m.group("bare")
            cited.append(re.sub(r"\s*\n\s*(?:#\s*)?", " ", title).strip())
    return cited


def unknown_sections(text: str, numbers: set[int], titles: set[str]) -> list[str]:
    return [
        f"§{c}" if isinstance(c, int) else repr(c)
        for c in cited_sections(text)
        if c not in (numbers if isinstance(c, int) else titles)
    ]


def test_the_section_check_reads_every_form_of_citation() -> None:
    page = "docs/architecture" + ".md"
    text = (
        f"({page} §9) ({page}\n§6, §7) ({page}, House style: services)\n"
        f'# ({page}, "The job\n# lifecycle") ({page}, "Lost messages")'
    )
    assert cited_sections(text) == [9, 6, 7, "House style", "The job lifecycle", "Lost messages"]
    numbers, titles = architecture_sections()
    assert unknown_sections(text, numbers, titles) == []
    wrong = f'({page} §14) ({page}, "Worker liveness") ({page}, Celery: tasks)'
    assert unknown_sections(wrong, numbers, titles) == ["§14", "'Worker liveness'", "'Celery'"]


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
    numbers, titles = architecture_sections()
    assert numbers == set(range(1, 14))
    assert {"House style", "The job lifecycle", "Settled"} <= titles
    missing = []
    files = [*product_files((".py", ".html", ".js", ".sh")), REPO / "README.md"]
    # The suite, the benches and the manual cite sections too (their paths are not checked
    # here: the tests write missing ones on purpose, and mkdocs checks the manual's links).
    suite = [path for root in ("tests", "testkit", "bench") for path in (REPO / root).rglob("*.py")]
    suite += sorted((REPO / "docs").rglob("*.md"))
    cited = sections = 0
    for path in files + suite:
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITED_PATH.finditer(text if path in files else ""):
            cited += 1
            if not (REPO / m.group(0)).is_file():
                missing.append(f"{path.relative_to(REPO)}: {m.group(0)}")
        sections += len(cited_sections(text))
        missing += [
            f"{path.relative_to(REPO)}: docs/architecture.md, {section}"
            for section in unknown_sections(text, numbers, titles)
        ]
    assert cited > 20, "no document cited at all: the pattern is wrong"
    assert sections > 100, "no section of docs/architecture.md cited: the pattern is wrong"
    assert not missing, "\n".join(missing)
