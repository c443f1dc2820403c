"""A product-matching task whose titles carry accents and umlauts, and two methods that
meet its stress families differently (docs/organizers/stress.md):

- ``ROBUST_MAIN`` compares the titles only (it ignores the brand column), folded to plain
  letters and fuzzily (rapidfuzz's token set ratio): typos and transliteration barely move
  it;
- ``BRITTLE_MAIN`` keys on exact strings (title and brand equal): one typo or one
  transliterated word makes a match a non-match.

Both are right on every clean pair (a match's records are identical; a non-match's titles
name different products)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

PRODUCTS = [
    ("Müller Kaffeemaschine Größe drei", "Müller"),
    ("Café Crème Brûlée Dessert Set", "Bonne Maman"),
    ("Škoda Octavia Zubehör Dachträger", "Škoda"),
    ("Zürich Uhrenmanufaktur Armbanduhr Édition", "Zürich Time"),
    ("Ñandú Plüschtier für Kinder", "Juguetes Niño"),
    ("Søren Kierkegaard Gesammelte Werke", "Forlaget Ø"),
    ("Łódź Porzellan Kaffeeservice Klassisch", "Ćmielów"),
    ("Ærø Strickpullover Wolle Größe", "Nørgaard"),
    ("Göteborg Fahrradhelm Schwarz Matt", "Cykelfabrik Å"),
    ("Crêperie Pfanne Gusseisen Française", "Le Creuset Été"),
    ("Mölnlycke Pflaster Wundversorgung Groß", "Mölnlycke"),
    ("Dvořák Symphonie Aufnahme Schallplatte", "Supraphon Č"),
]

ROBUST_MAIN = """
import os, unicodedata
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
test = pd.read_parquet(task / "test.parquet")


def fold(value):
    text = unicodedata.normalize("NFKD", "" if value is None else str(value))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


similar = [
    fuzz.token_set_ratio(fold(a), fold(b)) >= 70
    for a, b in zip(test["left_title"], test["right_title"])
]
pd.DataFrame({"id": test["id"], "label": [int(s) for s in similar]}).to_csv(
    out / "predictions.csv", index=False
)
"""

BRITTLE_MAIN = """
import os
from pathlib import Path

import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
test = pd.read_parquet(task / "test.parquet")
same = (test["left_title"] == test["right_title"]) & (test["left_brand"] == test["right_brand"])
pd.DataFrame({"id": test["id"], "label": same.astype(int)}).to_csv(
    out / "predictions.csv", index=False
)
"""


def _pairs(n: int, rng: np.random.Generator) -> pd.DataFrame:
    left = rng.integers(0, len(PRODUCTS), size=n)
    match = rng.random(n) < 0.4
    other = (left + rng.integers(1, len(PRODUCTS), size=n)) % len(PRODUCTS)
    right = np.where(match, left, other)
    frame = pd.DataFrame(
        {
            "left_title": [PRODUCTS[i][0] for i in left],
            "left_brand": [PRODUCTS[i][1] for i in left],
            "right_title": [PRODUCTS[i][0] for i in right],
            "right_brand": [PRODUCTS[i][1] for i in right],
        }
    )
    frame["label"] = match.astype(int)
    return frame


def write_products_bundle(
    path: Path, *, slug: str = "products", rows: int = 240, stress: object = None, **task: object
) -> Path:
    """The matching bundle at ``path``: ``rows`` train pairs and as many test pairs, test
    ids ``p00000``... (task.yaml's ``stress`` when given)."""
    rng = np.random.default_rng(11)
    path.mkdir(parents=True, exist_ok=True)
    spec = {
        "slug": slug,
        "title": "Products across catalogs",
        "kind": "matching",
        "columns": {"left_brand": "categorical", "right_brand": "categorical"},
        **task,
    }
    if stress is not None:
        spec["stress"] = stress
    (path / "task.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    train = _pairs(rows, rng)
    train.insert(0, "id", [f"k{i:05d}" for i in range(rows)])
    test = _pairs(rows, rng)
    test.insert(0, "id", [f"p{i:05d}" for i in range(rows)])
    train.to_parquet(path / "train.parquet", index=False)
    test.drop(columns="label").to_parquet(path / "test.parquet", index=False)
    test[["id", "label"]].to_parquet(path / "solution.parquet", index=False)
    return path
