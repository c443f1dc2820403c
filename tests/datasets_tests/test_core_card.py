"""The dataset card: rows, per-column statistics, class balance, short example rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from datasets.core import prepare_task
from datasets.core.card import build_card
from testkit.bundles import write_classification_bundle, write_matching_bundle


@pytest.fixture
def card(tmp_path: Path) -> dict:
    def long_title(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[0, "title"] = "word " * 40
        return df

    bundle = write_classification_bundle(tmp_path / "b", images=True, train=long_title)
    return prepare_task(bundle, work_dir=tmp_path / "w").card


def test_card_counts_rows_and_describes_each_column(card: dict) -> None:
    assert card["rows"] == {"train": 60, "test": 30}
    columns = {c["name"]: c for c in card["columns"]}
    assert [c["name"] for c in card["columns"]] == ["title", "price", "color", "photo"]
    price = columns["price"]
    assert price["type"] == "numeric"
    assert price["missing_share"] == pytest.approx(1 / 90)
    assert (price["min"], price["max"]) == (0.25, 133.75)
    assert price["distinct"] == 89
    color = columns["color"]
    assert color["type"] == "categorical"
    assert color["distinct"] == 3
    assert color["missing_share"] == pytest.approx(1 / 90)
    assert {v["value"] for v in color["top_values"]} == {"red", "green", "blue"}
    assert sum(v["count"] for v in color["top_values"]) == 89
    assert columns["title"]["type"] == "text"
    assert columns["title"]["mean_length"] > 20
    assert columns["photo"] == {
        "name": "photo",
        "type": "image",
        "missing_share": 0.0,
        "distinct": 6,
    }


def test_card_class_balance_and_examples(card: dict) -> None:
    assert card["class_balance"] == [
        {"class": c, "count": 20, "share": pytest.approx(1 / 3)} for c in ("bird", "cat", "dog")
    ]
    assert "positive_rate" not in card
    examples = card["examples"]
    assert len(examples) == 5
    assert list(examples[0]) == ["id", "title", "price", "color", "photo", "label"]
    assert len(examples[0]["title"]) == 80
    assert examples[0]["title"].endswith("…")
    assert examples[3]["price"] is None
    assert examples[4]["color"] is None


def test_card_is_strict_json(card: dict) -> None:
    assert json.loads(json.dumps(card, allow_nan=False)) == card


def test_matching_card_has_positive_rate(tmp_path: Path) -> None:
    task = prepare_task(write_matching_bundle(tmp_path / "b"), work_dir=tmp_path / "w")
    assert task.card["positive_rate"] == pytest.approx(1 / 3)
    assert [b["class"] for b in task.card["class_balance"]] == ["0", "1"]
    assert task.card["examples"][0]["label"] == 1


def test_empty_numeric_column_has_no_nan_in_the_card() -> None:
    train = pd.DataFrame(
        {"id": ["a", "b"], "x": pd.Series([None, None], dtype="float64"), "label": ["p", "q"]}
    )
    test = train.drop(columns="label")
    card = build_card(kind="classification", columns=[("x", "numeric")], train=train, test=test)
    assert card["columns"][0]["min"] is None
    assert card["columns"][0]["missing_share"] == 1.0
    json.dumps(card, allow_nan=False)


def test_the_example_rows_keep_the_tables_column_order_whatever_the_database_gives_back():
    """PostgreSQL's jsonb gives a stored object's keys back by length, then name; the card
    keeps the table's order beside the rows (``example_columns``), and the page reads it."""
    from types import SimpleNamespace

    from datasets.selectors import task_card

    as_stored = {"label": 1, "id": "t1", "title": "a"}  # jsonb's order
    card = {"example_columns": ["id", "title", "label"], "examples": [as_stored]}
    task = SimpleNamespace(kind="classification", card=card, train_rows=1, test_rows=1)

    shown = task_card(task=task)

    assert shown.example_header == ["id", "title", "label"]
    assert shown.example_rows == [["t1", "a", 1]]
    older = task_card(task=SimpleNamespace(**{**vars(task), "card": {"examples": [as_stored]}}))
    assert older.example_header == ["label", "id", "title"]  # a card from before: its rows' own
