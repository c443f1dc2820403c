"""Nothing is named by string across the layers: no module names a Celery task of a layer
above its own, no template loads a template tag library of a layer above its own, and every
beat entry is declared by the task it sends.

Import arrows are checked by import-linter (``pyproject.toml``); a task published by name
(``jobs.publish("scoring.tasks.score_submission")``) or a beat schedule entry is an arrow
import-linter cannot see. This test reads every product module with ``ast``, finds the
string literals shaped like ``<package>.tasks.<name>``, and refuses one that names an app
above the module's own in the layers contract (read from ``pyproject.toml``). A template's
``{% load %}`` is another such arrow: an app's page that loads a higher app's tags depends on
that app as surely as an import, so the page belongs to the layer that may know both.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.layers import TASK_NAME, layer_order

REPO = Path(__file__).resolve().parents[2]
EXPECTED_BEAT = {
    "sweep-stuck-submissions": "scoring.tasks.sweep_submissions",
    "sweep-version-checks": "datasets.tasks.sweep_version_checks",
    "sweep-algorithm-runs": "algorithms.tasks.sweep_algorithm_runs",
    "benchmark-tick": "algorithms.tasks.benchmark_tick",
    "stress-tick": "algorithms.tasks.stress_tick",
    "refresh-lagging-boards": "leaderboard.tasks.refresh_lagging_boards",
    "champion-tick": "leaderboard.tasks.champion_minute",
    "notifications-tick": "notifications.tasks.notifications_tick",
    "finish-due-challenges": "standings.tasks.finish_due_challenges",
    "worker-heartbeat": "challenge_platform.tasks.heartbeat",
    "phase-tick": "challenge_platform.tasks.phase_tick",
    "republish-lost-jobs": "jobs.tasks.republish_lost_jobs",
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    name: str  # the task named
    module_app: str
    task_app: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line} ({self.module_app}) names {self.name!r} of "
            f"{self.task_app}, a higher layer"
        )


def task_names(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string literal in ``source`` shaped like a task name."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and TASK_NAME.fullmatch(node.value)
    ]


def task_name_violations(root: Path, layers: list[str]) -> list[Violation]:
    """Every literal under ``root/<app>/`` naming a task of an app above ``<app>``."""
    rank = {app: index for index, app in enumerate(layers)}  # 0 is the top
    found = []
    for app in layers:
        for path in sorted((root / app).rglob("*.py")):
            if path.name == "task_names.py":
                continue  # the names' one home: their publishers import it (test_wiring.py)
            for line, name in task_names(path.read_text(encoding="utf-8")):
                task_app = name.split(".", 1)[0]
                if task_app in rank and rank[task_app] < rank[app]:
                    rel = path.relative_to(root).as_posix()
                    found.append(Violation(rel, line, name, app, task_app))
    return found


@dataclass(frozen=True)
class LoadViolation:
    path: str
    line: int
    library: str  # the library loaded
    template_app: str
    library_app: str  # "" for a library the engine does not know

    def __str__(self) -> str:
        if not self.library_app:
            return f"{self.path}:{self.line} ({self.template_app}) loads {self.library!r}, unknown"
        return (
            f"{self.path}:{self.line} ({self.template_app}) loads {self.library!r} of "
            f"{self.library_app}, a higher layer"
        )


LOAD_TAG = re.compile(r"\{%-?\s*load\s+(.*?)\s*-?%\}", re.DOTALL)
COMMENT = re.compile(r"\{#.*?#\}")  # Django's one-line comment


def loaded_libraries(source: str) -> list[tuple[int, str]]:
    """(line, library) of every library a template's ``{% load %}`` tags name: ``{% load a b %}``
    loads ``a`` and ``b``; ``{% load name other from lib %}`` loads from ``lib``."""
    found = []
    source = COMMENT.sub("", source)
    for match in LOAD_TAG.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        bits = match.group(1).split()
        names = [bits[-1]] if len(bits) >= 3 and bits[-2] == "from" else bits
        found.extend((line, name) for name in names)
    return found


def template_load_violations(
    root: Path, layers: list[str], libraries: dict[str, str]
) -> list[LoadViolation]:
    """Every ``{% load %}`` in a template under ``root/<app>/`` (any ``templates`` folder in it)
    of a library (``libraries``: name -> module, as the engine has them) of an app above
    ``<app>``, or of a library the engine does not know. Django's own and third-party
    libraries (their module outside the layers) are below every app."""
    rank = {app: index for index, app in enumerate(layers)}  # 0 is the top
    found = []
    for app in layers:
        for folder in sorted((root / app).rglob("templates")):
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                source = path.read_text(encoding="utf-8")
                for line, library in loaded_libraries(source):
                    rel = path.relative_to(root).as_posix()
                    if library not in libraries:
                        found.append(LoadViolation(rel, line, library, app, ""))
                        continue
                    library_app = libraries[library].split(".", 1)[0]
                    if library_app in rank and rank[library_app] < rank[app]:
                        found.append(LoadViolation(rel, line, library, app, library_app))
    return found


# --- the product ---------------------------------------------------------------------------


def test_no_module_names_a_task_of_a_higher_layer() -> None:
    layers = layer_order(REPO / "pyproject.toml")
    assert "algorithms" in layers and layers.index("algorithms") < layers.index("scoring")
    violations = task_name_violations(REPO, layers)
    assert not violations, "\n".join(map(str, violations))


def test_no_template_loads_tags_of_a_higher_layer() -> None:
    from django.template import engines

    layers = layer_order(REPO / "pyproject.toml")
    libraries = engines["django"].engine.libraries  # name -> module, installed apps included
    assert libraries["formatting"] == "kinds.templatetags.formatting"
    assert {"insight_tags", "board_rows", "notification_tags"} <= set(libraries)
    violations = template_load_violations(REPO, layers, libraries)
    assert not violations, "\n".join(map(str, violations))


def test_every_task_named_by_string_exists() -> None:
    """A literal that looks like a task name is one (a typo would publish nothing: the
    sweeper would re-queue it forever)."""
    from jobs.celery import TASK_QUEUES, app

    app.loader.import_default_modules()
    named = {
        name
        for app_name in layer_order(REPO / "pyproject.toml")
        for path in (REPO / app_name).rglob("*.py")
        for _, name in task_names(path.read_text(encoding="utf-8"))
    }
    assert named, "no task is named by string at all: the pattern is wrong"
    assert named - set(TASK_QUEUES) == set()


def test_every_beat_entry_is_declared_by_its_task_on_its_queue() -> None:
    from jobs.celery import TASK_QUEUES, app

    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {name: entry["task"] for name, entry in schedule.items()} == EXPECTED_BEAT
    for entry in schedule.values():
        assert entry["options"]["queue"] == TASK_QUEUES[entry["task"]]
        assert entry["options"]["expires"] < entry["schedule"]


def test_the_beat_process_sees_every_entry(redis_server, tmp_path) -> None:
    """The Procfile's beat command, for real: it loads every app's tasks before it reads the
    schedule, so no entry is lost now that each task declares its own."""
    log = tmp_path / "beat.log"
    command = ["celery", "-A", "challenge_platform", "beat", "--loglevel", "DEBUG", "--schedule"]
    with open(log, "wb") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", *command, str(tmp_path / "schedule")],
            cwd=REPO,
            env={**_env(), "REDIS_URL": redis_server.url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Current schedule:" not in log.read_text(errors="replace"):
            assert beat.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        time.sleep(0.5)  # the entries follow the heading in the same log record
    finally:
        beat.terminate()
        beat.wait(timeout=20)
    text = log.read_text(errors="replace")
    for name, task in EXPECTED_BEAT.items():
        assert f"<ScheduleEntry: {name} {task}" in text, text


def _env() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.test"}


# --- the checker itself, on planted modules ---------------------------------------------------


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A tree of three layers: ``top`` above ``middle`` above ``bottom``."""
    for app in ("top", "middle", "bottom"):
        (tmp_path / app).mkdir()
        (tmp_path / app / "tasks.py").write_text("def work():\n    pass\n")
    return tmp_path


def test_the_checker_refuses_a_lower_layer_naming_a_higher_task(planted: Path) -> None:
    (planted / "middle" / "services.py").write_text(
        'KIND = {"task_name": "top.tasks.work"}\n'
        'SAME = "middle.tasks.work"\n'
        'BELOW = "bottom.tasks.work"\n'
        '"""A docstring mentioning top.tasks.work is prose, not a name."""\n'
    )
    (planted / "bottom" / "celery.py").write_text(
        'beat = {"sweep": {"task": "middle.tasks.work", "schedule": 60.0}}\n'
    )
    found = task_name_violations(planted, ["top", "middle", "bottom"])
    assert [(v.path, v.line, v.name, v.task_app) for v in found] == [
        ("middle/services.py", 1, "top.tasks.work", "top"),
        ("bottom/celery.py", 1, "middle.tasks.work", "middle"),
    ]
    assert "a higher layer" in str(found[0])


def test_the_checker_accepts_names_of_the_same_or_lower_layers(planted: Path) -> None:
    (planted / "top" / "services.py").write_text(
        'A = "top.tasks.work"\nB = "middle.tasks.work"\nC = "bottom.tasks.work"\n'
        'D = "elsewhere.tasks.work"\nE = f"top.tasks.{1}"\n'
    )
    assert task_name_violations(planted, ["top", "middle", "bottom"]) == []


def test_the_layers_are_read_from_the_contract(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[[tool.importlinter.contracts]]\nname = 'x'\ntype = 'forbidden'\n"
        "source_modules = ['a']\nforbidden_modules = ['b']\n"
        "[[tool.importlinter.contracts]]\nname = 'layers'\ntype = 'layers'\n"
        "layers = ['top', '(optional)', 'bottom']\n"
    )
    assert layer_order(tmp_path / "pyproject.toml") == ["top", "optional", "bottom"]


def test_the_template_checker_refuses_loading_a_higher_library(tmp_path: Path) -> None:
    for app in ("top", "middle", "bottom"):
        (tmp_path / app / "templates" / app).mkdir(parents=True)
    (tmp_path / "middle" / "templates" / "middle" / "page.html").write_text(
        '{% extends "base.html" %}{% load static same_tags %}\n'
        "{% load low_tags top_tags %}\n"
        "{% load shown from top_other %}\n"
        "{# {% load top_tags %}: a comment, which Django does not run #}\n"
    )
    (tmp_path / "bottom" / "templates" / "bottom" / "mail.txt").write_text(
        "{%load  nowhere_tags%}\n"
    )
    (tmp_path / "top" / "templates" / "top" / "page.html").write_text(
        "{% load top_tags same_tags low_tags i18n %}"
    )
    libraries = {
        "top_tags": "top.templatetags.top_tags",
        "top_other": "top.templatetags.top_other",
        "same_tags": "middle.templatetags.same_tags",
        "low_tags": "bottom.templatetags.low_tags",
        "static": "django.templatetags.static",
        "i18n": "django.templatetags.i18n",
    }
    found = template_load_violations(tmp_path, ["top", "middle", "bottom"], libraries)
    assert [(v.path, v.line, v.library, v.library_app) for v in found] == [
        ("middle/templates/middle/page.html", 2, "top_tags", "top"),
        ("middle/templates/middle/page.html", 3, "top_other", "top"),
        ("bottom/templates/bottom/mail.txt", 1, "nowhere_tags", ""),
    ]
    assert "a higher layer" in str(found[0]) and "unknown" in str(found[2])
