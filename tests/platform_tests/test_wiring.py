"""Wiring anyone can follow: every Celery task is named by one constant, which the task and
each of its publishers read (docs/decisions/0054-one-name-per-task.md).

The test reads every product module with ``ast``: a string shaped like a task name
(``<app>.tasks.<name>``) is written only in an app's ``task_names`` module; every
``platform_task(...)`` takes its ``name=`` from there, and nothing publishes a task by a
literal (``publish``, ``publish_after_commit``, ``send_task``, a job type's ``task_name``).
A package re-exports nothing lazily (no module ``__getattr__``): callers import the module
that defines what they call.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.layers import TASK_NAME, layer_order

REPO = Path(__file__).resolve().parents[2]
PUBLISHERS = {"publish", "publish_after_commit", "send_task", "apply_async", "signature"}


@dataclass(frozen=True)
class Miswired:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose may name a task)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_literal(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant | ast.JoinedStr) and not (
        isinstance(node, ast.Constant) and node.value is None
    )


def miswired(path: Path, rel: str) -> list[Miswired]:
    """What in one module names a task other than by its constant."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    names_module = path.name == "task_names.py"
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and TASK_NAME.fullmatch(node.value)
            and not names_module
            and id(node) not in docstrings
        ):
            found.append(Miswired(rel, node.lineno, f"task name {node.value!r} written out"))
        if (
            isinstance(node, ast.FunctionDef)
            and node.name == "__getattr__"
            and rel.endswith("__init__.py")
        ):
            found.append(Miswired(rel, node.lineno, "a package re-exports names lazily"))
        if not isinstance(node, ast.Call):
            continue
        callee = _callee(node)
        keywords = {k.arg: k.value for k in node.keywords}
        if callee == "platform_task":
            name = keywords.get("name")
            if name is None or _is_literal(name):
                found.append(Miswired(rel, node.lineno, "a task not named by its constant"))
        elif callee in PUBLISHERS and (
            (node.args and _is_literal(node.args[0])) or _is_literal(keywords.get("task_name"))
        ):
            found.append(Miswired(rel, node.lineno, f"{callee}() of a task named by a literal"))
        elif callee in {"JobType", "RunProfile"} and _is_literal(keywords.get("task_name")):
            found.append(Miswired(rel, node.lineno, f"{callee} of a task named by a literal"))
    return found


def product_modules(root: Path) -> list[tuple[Path, str]]:
    apps = layer_order(root / "pyproject.toml")
    return [
        (path, path.relative_to(root).as_posix())
        for app in apps
        for path in sorted((root / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]


# --- the product ---------------------------------------------------------------------------


def test_every_task_is_named_by_its_constant_and_published_by_it() -> None:
    found = [m for path, rel in product_modules(REPO) for m in miswired(path, rel)]
    assert not found, "\n".join(map(str, found))


def test_each_constant_names_one_registered_task_of_its_app() -> None:
    """The constants, their declared queues and the tasks are the same set: a constant
    without a task would publish into the void; a task without one was named some other way
    (``platform_task`` refuses a name declared with no queue)."""
    from jobs.celery import TASK_QUEUES, TASK_TIME_LIMITS, app

    app.loader.import_default_modules()
    constants: dict[str, str] = {}
    for path in sorted(REPO.glob("*/task_names.py")):
        module = importlib.import_module(f"{path.parent.name}.task_names")
        for attr, value in vars(module).items():
            if attr.isupper() and isinstance(value, str):
                assert value not in constants, f"{value} named twice"
                constants[value] = f"{module.__name__}.{attr}"
    assert constants, "no task_names module found: the glob is wrong"
    assert set(constants) == set(TASK_QUEUES) == set(TASK_TIME_LIMITS)


def test_no_lazy_reexport_module_is_left() -> None:
    assert not (REPO / "common" / "lazy.py").exists()


# --- the checker, on planted modules -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "what"),
    [
        (
            '@platform_task(soft_time_limit=1, time_limit=2)\ndef f():\n    pass\n',
            "a task not named by its constant",
        ),
        (
            '@platform_task(name="f", soft_time_limit=1, time_limit=2)\n'
            "def f():\n    pass\n",
            "a task not named by its constant",
        ),
        ('lifecycle.publish(f"a.tasks.{x}", pk=1)\n', "publish() of a task named by a literal"),
        (
            'lifecycle.publish_after_commit(task_name=f"a.tasks.{x}", pk=1)\n',
            "publish_after_commit() of a task named by a literal",
        ),
        ('app.send_task("x", kwargs={})\n', "send_task() of a task named by a literal"),
        ('JobType(model=M, task_name="t")\n', "JobType of a task named by a literal"),
        ('NAME = "a.tasks.f"\n', "task name 'a.tasks.f' written out"),
        ("def __getattr__(name):\n    pass\n", "a package re-exports names lazily"),
    ],
)
def test_the_checker_refuses(tmp_path: Path, source: str, what: str) -> None:
    path = tmp_path / "__init__.py"
    path.write_text(source)
    assert [m.what for m in miswired(path, "app/__init__.py")] == [what]


def test_the_checker_accepts_constants_and_prose(tmp_path: Path) -> None:
    source = (
        '"""Publishes a.tasks.f (prose)."""\n'
        "@platform_task(name=task_names.F, soft_time_limit=1, time_limit=2)\n"
        "def f():\n    lifecycle.publish(task_names.F, pk=1)\n"
        "T = JobType(model=M, task_name=task_names.F)\n"
    )
    path = tmp_path / "tasks.py"
    path.write_text(source)
    assert miswired(path, "app/tasks.py") == []
    names = tmp_path / "task_names.py"
    names.write_text('F = "app.tasks.f"\n')
    assert miswired(names, "app/task_names.py") == []
