"""``dblp-acm``: do a DBLP and an ACM bibliography entry describe the same paper?"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from datasets.demo.bundle import BundleSpec, prepare_out_dir, write_bundle
from datasets.demo.entitymatching import CITATION, read_csv
from datasets.demo.pairs import group_split, pair_rows, share_equal

SLUG = "dblp-acm"
ATTRS = {"title": "text", "authors": "text", "venue": "categorical", "year": "numeric"}


def build_dblp_acm(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``dblp-acm`` matching bundle (Parquet) into ``out_dir``.

    Uses the 415 hand-labelled candidate pairs of the Magellan tutorial as given, with the
    attributes taken from the full DBLP and ACM tables.
    """
    dblp = read_csv(member="DBLP.csv", cache_dir=cache_dir, dtype={"id": str})
    acm = read_csv(member="ACM.csv", cache_dir=cache_dir, dtype={"id": str})
    labels = read_csv(member="dblp_acm_demo_labels.csv", cache_dir=cache_dir,
                      dtype={"ltable.id": str, "rtable.id": str})
    out_dir = prepare_out_dir(out_dir=out_dir)
    left = dblp.set_index("id").sort_index()
    right = acm.set_index("id").sort_index()
    for table in (left, right):
        table["year"] = pd.to_numeric(table["year"], errors="coerce").astype("float64")
    pairs = pd.DataFrame(
        {"left": labels["ltable.id"], "right": labels["rtable.id"],
         "label": labels["gold"].astype("int64")}
    ).sort_values(["left", "right"], ignore_index=True)
    rows = pair_rows(left=left, right=right, pairs=pairs, attrs=list(ATTRS))
    train, test = group_split(pairs=pairs, seed=seed)
    spec = BundleSpec(
        slug=SLUG,
        title="DBLP vs ACM bibliography: same paper?",
        kind="matching",
        description=_description(rows, len(left), len(right), len(train), len(test)),
        columns={f"{side}_{a}": t for side in ("left", "right") for a, t in ATTRS.items()},
        split_seed=seed,
        citation=CITATION,
    )
    return write_bundle(
        out_dir=out_dir, spec=spec, train=rows.iloc[train], test=rows.iloc[test], fmt="parquet",
        id_prefix="da",
    )


def _description(
    rows: pd.DataFrame, n_dblp: int, n_acm: int, n_train: int, n_test: int
) -> str:
    positives = int(rows["label"].sum())
    negatives = rows[rows["label"] == 0]
    same_year = share_equal(rows=negatives, attr="year")
    return f"""
**Source.** DBLP-ACM, the bibliographic entity-resolution benchmark of H. Köpcke, A. Thor,
E. Rahm, *Evaluation of entity resolution approaches on real-world match problems*, PVLDB
3(1), 2010, in the version used by Magellan's tutorial ({n_dblp:,} DBLP and {n_acm:,} ACM
entries of database papers, 1994-2003): {CITATION}.

**Rows.** Each row is one of the tutorial's {len(rows)} hand-labelled candidate pairs, used
as given: a DBLP entry (`left_*`) and an ACM entry (`right_*`) with title, authors, venue and
year. The two libraries spell venues differently (`SIGMOD Conference` vs `International
Conference on Management of Data`), abbreviate author names and sometimes disagree on the
year.

**Label.** `1` when both entries are the same paper ({positives} pairs), `0` otherwise
({len(negatives)} pairs). Metric: F1 of the match class. The negatives are the candidates
the tutorial's labeller rejected, not picked to be hard: {same_year:.0%}
share the year.

**Split.** {n_train} train and {n_test} test pairs, 70/30 by DBLP entry: all candidates of
one entry are on the same side.
"""
