"""``standardize``: write a validated bundle as the standardized task folder.

The layout is the one of ``docs/developers/data-contract.md``::

    task.json, card.json, train.csv, train.parquet, test.csv, test.parquet,
    images.zip (only with image columns), private/solution.parquet

and, beside the solution, ``private/solution.keys.npy``: the table of its ids' keys
(``common.keyfile``) when scoring places shuffled ids by their keys (ids of no numbered
shape, at least ``KEYS_MIN_ROWS`` of them), the one the validation made to prove them
distinct.

Train and test are streamed (:class:`datasets.core.part_writer.PartWriter`): each batch of the
bundle's file is converted to the standard types, appended to the CSV and to the Parquet
file (one row group per batch) and fed to the card, the CSV and the card on a thread of
their own. The import writes them while it validates them (``bundle.streamed``): here they
are only confirmed against the types the whole bundle decided, and written again from the
bundle, with the id and label columns the validation holds, when a guess did not hold
(docs/decisions/0056-the-import-reads-the-bundle-once.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from common import keyfile
from common.arrowtools import release_unused_memory
from common.numbered import shape_metadata
from datasets.core.card import CardBuilder
from datasets.core.images import write_images_zip
from datasets.core.io import standard_schema
from datasets.core.part_writer import PartWriter, part_paths, standard_column
from datasets.core.stream import (
    SOLUTION,
    StreamedOutput,
    WrittenSolution,
    keys_wanted,
    solution_table,
)
from datasets.core.validate import ValidatedBundle
from kinds import kind_get

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
    """Write ``bundle`` into ``out_dir`` (created; must not hold files yet, but for the
    train and test files the validation wrote there, ``bundle.streamed``)."""
    streamed = bundle.streamed if bundle.streamed and bundle.streamed.out_dir == out_dir else None
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = set(streamed.files().values()) if streamed is not None else set()
    if streamed is not None:
        ours.add(out_dir / "private")  # the solution written beside the reading, if any
    if any(path not in ours for path in out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty")
    (out_dir / "private").mkdir(exist_ok=True)
    spec = bundle.spec
    files: dict[str, Path] = {}
    solution = _solution_written(bundle, streamed)
    if solution is not None and solution.keys is not None:
        bundle.test_id_table.clear()  # the key table written beside the reading is these ids'
        files[SOLUTION_KEYS] = solution.keys
    elif streamed is not None and streamed.test_keys is not None:
        files[SOLUTION_KEYS] = streamed.test_keys  # the validation's, written at once
    elif _write_solution_keys(bundle, out_dir / SOLUTION_KEYS):  # first: then let go
        files[SOLUTION_KEYS] = out_dir / SOLUTION_KEYS
    card = None if streamed is None else _confirmed(bundle, streamed)
    if card is not None and streamed is not None:
        files.update(streamed.files())
    else:
        card = CardBuilder(spec.kind, bundle.columns)
        for part in ("train", "test"):
            csv_path, parquet_path = part_paths(out_dir, part)
            _write_part(bundle, part, csv_path, parquet_path, card)
            release_unused_memory()
            files[csv_path.name], files[parquet_path.name] = csv_path, parquet_path
    if any(ctype == "image" for _, ctype in bundle.columns):
        files["images.zip"] = out_dir / "images.zip"
        write_images_zip(bundle.images_dir, bundle.images, files["images.zip"])
    files[SOLUTION] = out_dir / SOLUTION
    if solution is None:
        pq.write_table(_with_split(bundle, streamed), files[SOLUTION])
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


def _with_split(bundle: ValidatedBundle, streamed: StreamedOutput | None) -> pa.Table:
    """The solution with its split (made beside the reading when it could be)."""
    spec, solution = bundle.spec, bundle.solution
    labels = solution["label"].combine_chunks()
    public = None if streamed is None else streamed.public_rows(labels)
    if public is None:
        public = kind_get(spec.kind).public_rows(
            labels, public_fraction=spec.public_fraction, seed=spec.split_seed
        )
    # The ids' shape, proven by the validation, travels with the solution.
    return solution_table(spec.kind, solution, public, bundle.test_id_shape)


def _write_solution_keys(bundle: ValidatedBundle, path: Path) -> bool:
    """Write the solution ids' key table (``common.keyfile``) when scoring will place
    shuffled ids by their keys, taking the validation's table out of ``bundle`` (made here
    when the validation proved the ids distinct another way); False when there is none to
    write (a numbered shape, few ids, ids that cannot be keyed)."""
    table = bundle.test_id_table.pop() if bundle.test_id_table else None
    ids = bundle.test_ids
    return keys_wanted(ids, bundle.test_id_shape) and keyfile.write(path, ids, table)


def _solution_written(
    bundle: ValidatedBundle, streamed: StreamedOutput | None
) -> WrittenSolution | None:
    """The solution file (and key table) written beside the reading, when it is the
    validated solution's (:meth:`StreamedOutput.solution_file`); else None, and whatever
    was written removed (the solution is written here)."""
    if streamed is None:
        return None
    metadata = shape_metadata(bundle.test_id_shape)
    if streamed.solution_file(bundle.solution, metadata) is None:
        streamed.discard_solution()
        return None
    return streamed.solution


def _confirmed(bundle: ValidatedBundle, streamed: StreamedOutput) -> CardBuilder | None:
    """The card of the train and test files the validation wrote, when their guesses hold
    (:meth:`StreamedOutput.confirmed`); else None, the files removed to be written again."""
    card = streamed.confirmed(
        columns=bundle.columns,
        integral=bundle.integral,
        rows={"train": len(bundle.train_ids), "test": len(bundle.test_ids)},
    )
    if card is None:
        streamed.discard()
    return card


def _write_part(
    bundle: ValidatedBundle, part: str, csv_path: Path, parquet_path: Path, card: CardBuilder
) -> None:
    """Stream ``part`` (train or test) from the bundle into its CSV and Parquet files and
    into the card, with the ids and labels the validation holds."""
    table = bundle.train if part == "train" else bundle.test
    ids = bundle.train_ids if part == "train" else bundle.test_ids
    labels = bundle.train_labels if part == "train" else None
    schema = standard_schema(bundle.spec.kind, bundle.columns, with_label=labels is not None)
    names = [name for name, _ in bundle.columns]
    offset = 0
    with PartWriter(part, schema, csv_path, parquet_path, card) as writer:
        batches = table.batches(columns=names) if names else ()
        for raw in batches:
            n = raw.num_rows
            arrays = [ids.slice(offset, n)]
            for name, column_type in bundle.columns:
                integral = (part, name) in bundle.integral
                arrays.append(standard_column(raw.column(name), column_type, integral))
            if labels is not None:
                arrays.append(labels.slice(offset, n))
            writer.write(pa.RecordBatch.from_arrays(arrays, schema=schema))
            offset += n


def _json(content: Mapping[str, Any]) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
