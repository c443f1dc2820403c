"""The task kinds the platform knows, found by name: ``kind_get("matching")``.

A new kind is a module of its own (a :class:`kinds.base.TaskKind` named ``KIND``), its
templates under ``kinds/templates/kinds/<name>/`` and one line in ``_MODULES``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from kinds.base import TaskKind

# In the order pages, messages and the API list them (classification and matching lead
# the unknown-kind message, as they always did).
_MODULES = (
    "kinds.classification",
    "kinds.matching",
    "kinds.grouping",
    "kinds.regression",
)

KINDS: dict[str, TaskKind] = {}
for _module in _MODULES:
    _kind: TaskKind = import_module(_module).KIND
    KINDS[_kind.name] = _kind


class UnknownKind(ValueError):
    """A kind name no module registers."""


def kind_names() -> tuple[str, ...]:
    """Every kind's name, in registry order."""
    return tuple(KINDS)


def kind_get(name: str) -> TaskKind:
    """The kind called ``name``; :class:`UnknownKind` (a ValueError) when there is none."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise UnknownKind(f"unknown kind {name!r}; expected one of {', '.join(KINDS)}") from None


def kind_choices() -> list[tuple[str, str]]:
    """``[(name, label)]`` for a model field's or a form's choices."""
    return [(kind.name, kind.label) for kind in KINDS.values()]


def kinds_in_words(names: Iterable[str]) -> str:
    """The labels of the kinds ``names`` (unknown ones left out), in registry order, as a
    phrase: ``"k-way classification, record matching and regression"``; empty for none."""
    wanted = set(names)
    labels = [kind.label for kind in KINDS.values() if kind.name in wanted]
    if len(labels) <= 1:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} and {labels[-1]}"
