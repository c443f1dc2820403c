"""A board's metric columns come in the order the task's kind declares them, whatever order
the database gives a stored object's keys in (PostgreSQL's ``jsonb``: by length, then name;
SQLite: as written), so a board reads the same on either."""

from __future__ import annotations

from types import SimpleNamespace

from leaderboard.views import _metric_columns


def _entries(*orders: tuple[str, ...]) -> list[SimpleNamespace]:
    return [SimpleNamespace(metrics={name: 0.5 for name in order}) for order in orders]


def test_the_columns_follow_the_kinds_order_not_the_stored_keys_order() -> None:
    task = SimpleNamespace(kind="classification", primary_metric="macro_f1")
    as_written = _entries(("accuracy", "macro_f1", "log_loss"))
    as_jsonb = _entries(("log_loss", "accuracy", "macro_f1"))  # by length, then name

    assert _metric_columns(task, as_written) == ["macro_f1", "accuracy", "log_loss"]
    assert _metric_columns(task, as_jsonb) == _metric_columns(task, as_written)


def test_a_metric_the_kind_does_not_declare_comes_last_by_name() -> None:
    task = SimpleNamespace(kind="classification", primary_metric="accuracy")
    entries = _entries(("zeta", "accuracy"), ("alpha", "log_loss"))

    assert _metric_columns(task, entries) == ["accuracy", "log_loss", "alpha", "zeta"]
