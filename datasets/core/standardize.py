"""``standardize``: write a validated bundle as the standardized task folder.

The layout is the one of ``docs/developers/data-contract.md``::

    task.json, card.json, train.csv, train.parquet, test.csv, test.parquet,
    images.zip (only with image columns), private/solution.parquet

and, beside the solution, ``private/solution.keys.npy``: the table of its ids' keys
(``common.keyfile``) when scoring places shuffled ids by their keys (ids of no numbered
shape, at least ``KEYS_MIN_ROWS`` of them), the one the validation made to prove them
distinct.

Train and test are streamed: each batch of the bundle's file is converted to the standard
types (:mod:`datasets.core.io`), appended to the CSV and to the Parquet file (one row group
per batch) and fed to the card, the CSV and the card on a thread of their own (pyarrow
releases the interpreter lock, so the two writers use two cores); the id and label
columns come from the validated bundle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common import keyfile
from common.arrowtools import release_unused_memory
from common.coerce import as_numbers, as_text
from common.idkeys import KEYS_MIN_ROWS
from common.numbered import shape_metadata
from common.split import split_column
from datasets.core.card import CardBuilder
from datasets.core.images import normalize_path, write_images_zip
from datasets.core.io import standard_schema
from datasets.core.tables import BATCH_ROWS
from datasets.core.validate import ValidatedBundle
from kinds import kind_get

SOLUTION = "private/solution.parquet"
SOLUTION_KEYS = keyfile.keys_name(SOLUTION)


@dataclass(frozen=True)
class StandardizedTask:
    """A standardized task folder: ``files`` maps each relative name to its path."""

    out_dir: Path
    meta: Mapping[str, Any]
    card: Mapping[str, Any]
    files: Mapping[str, Path]
    warnings: tuple[str, ...] = ()


def standardize(bundle: ValidatedBundle, out_dir: Path) -> StandardizedTask:
    """Write ``bundle`` into ``out_dir`` (created; must not hold files yet)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty")
    (out_dir / "private").mkdir()
    spec = bundle.spec
    files: dict[str, Path] = {}
    if _write_solution_keys(bundle, out_dir / SOLUTION_KEYS):  # first: then let go
        files[SOLUTION_KEYS] = out_dir / SOLUTION_KEYS
    card = CardBuilder(spec.kind, bundle.columns)
    for part in ("train", "test"):
        csv_path, parquet_path = out_dir / f"{part}.csv", out_dir / f"{part}.parquet"
        _write_part(bundle, part, csv_path, parquet_path, card)
        release_unused_memory()
        files[csv_path.name], files[parquet_path.name] = csv_path, parquet_path
    if any(ctype == "image" for _, ctype in bundle.columns):
        files["images.zip"] = out_dir / "images.zip"
        write_images_zip(bundle.images_dir, bundle.images, files["images.zip"])
    files[SOLUTION] = out_dir / SOLUTION
    pq.write_table(_with_split(bundle), files[SOLUTION])
    meta = {
        "slug": spec.slug,
        "title": spec.title,
        "description": spec.description,
        "kind": spec.kind,
        "columns": [{"name": name, "type": ctype} for name, ctype in bundle.columns],
        "classes": list(bundle.classes),
        "primary_metric": spec.metric,
        "public_fraction": spec.public_fraction,
        "split_seed": spec.split_seed,
        "train_rows": len(bundle.train_ids),
        "test_rows": len(bundle.test_ids),
        "opis": spec.opis.as_json(group_source=bundle.opis_group_source),
        # docs/organizers/stress.md: the stress families as task.yaml chose them (None: every family
        # that applies to the columns); kept out of a run's /task/task.json.
        "stress": bundle.stress,
        **kind_get(spec.kind).task_meta(spec.options, bundle.train_labels),
        **spec.about,  # license, citation, rai: only those the bundle gives
    }
    if spec.slices:  # the champion gate's slice columns (docs/organizers/champion-gate.md)
        meta["slices"] = list(spec.slices)
    card_json = card.card(bundle.train_labels)
    for name, content in (("task.json", meta), ("card.json", card_json)):
        files[name] = out_dir / name
        files[name].write_text(_json(content), encoding="utf-8")
    return StandardizedTask(
        out_dir=out_dir, meta=meta, card=card_json, files=files, warnings=bundle.warnings
    )


def _with_split(bundle: ValidatedBundle) -> pa.Table:
    spec, solution = bundle.spec, bundle.solution
    labels = solution["label"].combine_chunks()
    public = kind_get(spec.kind).public_rows(
        labels, public_fraction=spec.public_fraction, seed=spec.split_seed
    )
    table = solution.append_column("split", split_column(public))
    extra = [c for c in table.column_names if c not in ("id", "label")]
    schema = standard_schema(spec.kind, (), with_label=True, extra=extra)
    # The ids' shape, proven by the validation, travels with the solution (scoring reads
    # it instead of finding it again: ``scoring.core.solution``).
    metadata = {**(schema.metadata or {}), **shape_metadata(bundle.test_id_shape)}
    return table.select(schema.names).cast(schema).replace_schema_metadata(metadata)


def _write_solution_keys(bundle: ValidatedBundle, path: Path) -> bool:
    """Write the solution ids' key table (``common.keyfile``) when scoring will place
    shuffled ids by their keys, taking the validation's table out of ``bundle`` (made here
    when the validation proved the ids distinct another way); False when there is none to
    write (a numbered shape, few ids, ids that cannot be keyed)."""
    table = bundle.test_id_table.pop() if bundle.test_id_table else None
    ids = bundle.test_ids
    if bundle.test_id_shape is not None or len(ids) < KEYS_MIN_ROWS or ids.null_count:
        return False
    return keyfile.write(path, ids, table)


def _write_part(
    bundle: ValidatedBundle, part: str, csv_path: Path, parquet_path: Path, card: CardBuilder
) -> None:
    """Stream ``part`` (train or test) into its CSV and Parquet files and into the card."""
    table = bundle.train if part == "train" else bundle.test
    ids = bundle.train_ids if part == "train" else bundle.test_ids
    labels = bundle.train_labels if part == "train" else None
    schema = standard_schema(bundle.spec.kind, bundle.columns, with_label=labels is not None)
    names = [name for name, _ in bundle.columns]
    offset = 0
    with (
        pacsv.CSVWriter(csv_path, schema) as csv_out,
        pq.ParquetWriter(parquet_path, schema) as parquet_out,
        _Behind() as csv_writes,
    ):

        def csv_and_card(batch: pa.RecordBatch) -> None:
            csv_out.write_batch(batch)
            card.add(part, batch)

        batches = table.batches(columns=names) if names else ()
        for raw in batches:
            n = raw.num_rows
            arrays = [ids.slice(offset, n)]
            for name, column_type in bundle.columns:
                integral = (part, name) in bundle.integral
                arrays.append(_standard(raw.column(name), column_type, integral))
            if labels is not None:
                arrays.append(labels.slice(offset, n))
            batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
            csv_writes.run(csv_and_card, batch)
            # Row groups of at most BATCH_ROWS whatever the bundle's batches (a CSV block
            # can hold millions of narrow rows): a run's /task links this file as it is.
            parquet_out.write_batch(batch, row_group_size=BATCH_ROWS)
            offset += n
        csv_writes.wait()
        if offset == 0:  # no rows: keep the header and the schema
            empty = schema.empty_table()
            csv_out.write_table(empty)
            parquet_out.write_table(empty)


class _Behind:
    """Runs one call at a time on a thread of its own, while the caller goes on: the CSV
    and the card of a batch while its Parquet is written, in file order, with at most one
    batch waiting. An error surfaces at the next
    ``run`` or ``wait``, and leaving the block waits for the last call."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="standardize-csv")
        self._pending: Future[None] | None = None

    def run(self, call: Callable[[pa.RecordBatch], None], batch: pa.RecordBatch) -> None:
        self.wait()
        self._pending = self._pool.submit(call, batch)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Behind:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True)


def _standard(raw: pa.Array, column_type: str, integral: bool) -> pa.Array:
    """One raw feature batch in its standard type."""
    if column_type == "numeric":
        return as_numbers(raw)[0]
    text = as_text(raw, integral=integral)
    if column_type != "image":
        return text
    encoded = pc.dictionary_encode(text)
    paths = pa.array([normalize_path(p) for p in encoded.dictionary.to_pylist()], pa.string())
    return paths.take(encoded.indices)


def _json(content: Mapping[str, Any]) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
