"""The general helpers in ``common`` that services of every app use (no database)."""

from __future__ import annotations

import logging
import math

from common.files import delete_file_quietly
from common.finite import float_or_none, json_finite


def test_json_finite_replaces_nan_and_infinity_at_any_depth():
    value = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -math.inf}], 3: "text", "d": None}
    assert json_finite(value) == {
        "a": None,
        "b": [1.5, None, {"c": None}],
        "3": "text",
        "d": None,
    }
    assert json_finite((1, float("nan"))) == [1, None]


def test_float_or_none_takes_finite_numbers_only():
    assert float_or_none("0.25") == 0.25 and float_or_none(3) == 3.0
    for bad in ("x", None, [1], float("nan"), "inf", -math.inf, 10**400):
        assert float_or_none(bad) is None, bad


class _Storage:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.deleted: list[str] = []

    def delete(self, name: str) -> None:
        if self.error is not None:
            raise self.error
        self.deleted.append(name)


def test_delete_file_quietly_deletes_and_never_raises(caplog):
    storage = _Storage()
    delete_file_quietly(storage, "a/b.csv")
    delete_file_quietly(storage, "")
    delete_file_quietly(storage, None)
    assert storage.deleted == ["a/b.csv"]

    broken = _Storage(OSError("disk gone"))
    with caplog.at_level(logging.WARNING, logger="common.files"):
        delete_file_quietly(broken, "a/c.csv")  # cleanup: the error is logged, not raised
    assert "could not delete a/c.csv" in caplog.text
