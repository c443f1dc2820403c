"""``validate_bundle``: check a bundle folder against every rule, report all problems at once.

Refused (each message names the file, the column and up to five example ids or rows):
- task.yaml: missing, not UTF-8, over 1 MiB, invalid YAML, YAML tags (``safe_load`` only), not
  a mapping, unknown keys (with a did-you-mean), bad slug (Django slug, <= 50 chars), missing
  title, unknown kind, metric not available for the kind, public_fraction outside (0, 1),
  split_seed not a whole number >= 0, unknown column type, a type for id/label, a declared
  column absent from train, a matching pair declared with two types;
- files: a part missing, both CSV and Parquet for one part, unreadable CSV (not UTF-8, bad
  quoting, rows longer than the header, not comma-separated) or Parquet (corrupt, nested
  columns), over the size or row cap;
- columns: empty, duplicated or oddly-charactered names, reserved names (id, label, split,
  proba_*), id missing, label missing in train or solution, label in test, extra solution
  columns, train/test features differing, no feature column;
- rows: empty train or test, fewer than 2 test rows, empty or duplicate ids, empty labels,
  test ids != solution ids, declared numeric values that are not numbers;
- the kind's own rules (``kinds``: ``TaskKind.bundle_labels``, ``bundle_classes``,
  ``check_features``, ``read_options``): classification: fewer than 2 classes in train,
  more than 1000 classes; grouping: train and solution sharing an entity id in ``label``
  (entities are disjoint); matching: features not named left_/right_<attr>, unpaired
  columns, no pair, labels other than 0/1, train without both 0 and 1;
- slices: not a list of names, id or label, a name twice, more than 10, a name that is not
  a categorical feature column of the test file;
- opis: unknown keys, a group_column that is not a test or solution column (or not on a
  kind that takes one), a range other than 0 <= lo < hi <= 1, min_group_rows not a whole
  number >= 1;
- images: absolute, backslash or ``..`` paths, paths missing under images/, files Pillow
  cannot verify, an images/ folder with no image column.

Warned (the bundle is accepted): the kind's warnings (solution classes never seen in train,
a solution without matches, a grouping file where no two records share an entity), an
entirely empty column, a column of image-like paths with no file under images/.

Every file is read once, in batches (:mod:`datasets.core.scan`); only the id and label
columns (and the solution's OPIS group column) are held whole. Given ``write_to`` (the
import, ``datasets.core.prepare_task``), the same pass writes train and test standardized
there (:mod:`datasets.core.stream`): the bundle is read once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import pyarrow as pa

from common import keyfile
from common.arrowtools import release_unused_memory, same_memory
from common.coerce import as_text
from common.idkeys import KeyTable
from common.numbered import IdShape
from common.wording import quote
from datasets.core import rules
from datasets.core.column_types import column_types, images_checked
from datasets.core.errors import BundleInvalid
from datasets.core.idset import IdIndex
from datasets.core.images import FOLDER
from datasets.core.leakprobe import leak_probe as probe_leak
from datasets.core.leakprobe import prepare_model
from datasets.core.scan import Part, read_parts
from datasets.core.spec import TaskSpec, read_task_spec
from datasets.core.stream import SOLUTION_KEYS, ProbeAhead, StreamedOutput, keys_wanted
from datasets.core.tables import PARTS, Table
from kinds import TaskKind, kind_get
from kinds.base import BundleLabels
from kinds.stress import StressRefused, stress_plan

DEFAULT_MAX_ROWS = 10_000_000
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3


@dataclass(frozen=True, eq=False)
class ValidatedBundle:
    """A bundle that passed every rule: its files, types and the columns held in memory.

    ``train`` and ``test`` are the files (streamed again to standardize them); ``train_ids``,
    ``train_labels`` and ``test_ids`` are their id and label columns in the standard form
    (the kind's ``label_dtype``);
    ``solution`` is ``id, label[, <OPIS group column>]`` in test's row order. ``integral``
    names the (file, column) pairs of float columns whose text drops ``.0``. ``images``
    holds the normalized paths the image columns reference, relative to ``images_dir``.
    """

    folder: Path
    spec: TaskSpec
    columns: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]
    train: Table
    test: Table
    train_ids: pa.Array
    train_labels: pa.Array
    test_ids: pa.Array
    solution: pa.Table
    integral: frozenset[tuple[str, str]]
    images: frozenset[str]
    warnings: tuple[str, ...]
    opis_group_source: str = ""  # "test", "solution" or "" (no group column)
    # The test ids' shape (numbered, counted or spread, ``common.numbered``; None: none), proven
    # here and stored with the solution, so that scoring never looks for it again.
    test_id_shape: IdShape = None
    # The test ids' key table, when proving them distinct made one (ids of no numbered
    # shape; at most one): ``standardize`` takes it out, writes it beside the solution for
    # scoring (``common.keyfile``) before the parts, and so holds it no longer (at 30M ids
    # it is 0.6 GB).
    test_id_table: list[KeyTable] = field(default_factory=list)
    # task.yaml's stress, checked (docs/organizers/stress.md)
    stress: list[dict[str, object]] | None = None
    # train and test as the validation pass wrote them (``write_to``), to be confirmed
    # against the final types by ``standardize`` (``datasets.core.stream``)
    streamed: StreamedOutput | None = None

    @property
    def images_dir(self) -> Path:
        """The bundle's ``images/`` folder."""
        return self.folder / FOLDER


def validate_bundle(
    folder: Path,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    leak_probe: str = "",
    leak_probe_default: str = "warn",
    write_to: Path | None = None,
) -> ValidatedBundle:
    """Check the bundle in ``folder``; raise :class:`BundleInvalid` listing every problem.
    The leak probe's mode (docs/organizers/stress.md: ``warn``, ``refuse`` or ``off``) is
    ``leak_probe`` when given (the import's flag), else task.yaml's ``leak_probe``, else
    ``leak_probe_default``. ``write_to``: the standardized folder to write train and test
    into while they are read (:mod:`datasets.core.stream`; ``standardize`` confirms them).

    The checks run in a fixed order (task.yaml, files, ids, columns, labels, the kind's
    rules, declared columns, types, slices, images, stress, the leak probe), which is the
    order the organizer reads the problems in. The leak probe reads train's labels, so it
    runs only once they passed every label check (a label 2 in a matching train made it a
    traceback, issue 51); a bundle with bad labels is refused for them alone."""
    problems: list[str] = []
    warnings: list[str] = []
    spec, spec_problems = read_task_spec(folder)
    problems += spec_problems
    kind = kind_get(spec.kind) if spec.kind else None
    mode = leak_probe or spec.leak_probe or leak_probe_default
    streamed = _before_reading(folder, spec, None if problems else kind, mode, write_to)
    parts = read_parts(
        folder,
        PARTS,
        problems,
        kind=spec.kind,
        declared=dict(spec.columns),
        max_rows=max_rows,
        max_file_bytes=max_file_bytes,
        sinks=None if streamed is None else streamed.sinks,
    )
    train, test, solution = (parts[p] for p in PARTS)
    ids, indexes = _check_rows_and_ids(parts, problems, _known_indexes(parts, streamed))
    group_column = spec.opis.group_column
    solution_extra = (group_column,) if group_column and not _has(test, group_column) else ()
    features = rules.check_columns(train, test, solution, problems, solution_extra=solution_extra)
    group_source = _opis_source(group_column, test, solution, problems)
    test_rows = _solution_rows_in_test(test, solution, ids, indexes, problems)
    test_id_table = _key_table_kept(indexes.get("test"), ids.get("test"), streamed, problems)
    before_labels = len(problems)
    labels = {
        p.part: rules.check_labels(kind, p, ids[p.part], problems)
        for p in (train, solution)
        if p is not None
    }
    release_unused_memory()
    classes = _check_kind_labels(kind, train, solution, labels, problems, warnings)
    labels_valid = len(problems) == before_labels
    if kind is not None and train is not None:
        kind.check_features(train.name, features, problems)
    _check_declared_columns(spec, train, features, problems)
    present = [p for p in (train, test) if p is not None]
    types = column_types(
        folder=folder, spec=spec, kind=kind, features=features, parts=present,
        problems=problems, warnings=warnings,
    )  # fmt: skip
    _check_slices(spec, test, types, problems)
    images = images_checked(folder=folder, types=types, parts=present, problems=problems)
    stress = None
    if kind is not None:
        stress = _check_stress(spec, kind, features, types, problems)
        if labels_valid:
            ahead = None if streamed is None else streamed.probe_ahead
            train_ids, train_labels = ids.get("train"), labels.get("train")
            _probe(kind, train, train_ids, train_labels, mode, problems, warnings, ahead)
    if problems:
        _refuse(problems, streamed)
    assert train is not None and test is not None and solution is not None
    assert test_rows is not None  # with unique ids, the same id set
    return ValidatedBundle(
        folder=folder,
        spec=spec,
        columns=tuple((name, types[name]) for name in features),
        classes=classes,
        train=train.table,
        test=test.table,
        train_ids=ids["train"],
        train_labels=labels["train"],
        test_ids=ids["test"],
        solution=_solution(
            spec, ids["test"], test_rows, labels["solution"], solution, group_source
        ),
        integral=_integral(present),
        images=frozenset(images),
        warnings=tuple(warnings),
        opis_group_source=group_source,
        test_id_shape=indexes["test"].shape if "test" in indexes else None,
        test_id_table=test_id_table,
        stress=stress,
        streamed=streamed,
    )


def _before_reading(
    folder: Path, spec: TaskSpec, kind: TaskKind | None, mode: str, write_to: Path | None
) -> StreamedOutput | None:
    """What starts before the files are read: the leak probe's model imported beside the
    reading (when the probe will run), and the output that writes train and test as they
    are read (``write_to``; None when nothing is streamed)."""
    probe = kind is not None and kind.leak_probe is not None and mode != "off"
    if probe:
        prepare_model()
    return StreamedOutput.start(
        kind=kind,
        declared=dict(spec.columns),
        out_dir=write_to,
        images_dir=folder / FOLDER,
        split=(spec.public_fraction, spec.split_seed),
        probe=probe,
        group_column=spec.opis.group_column or "",
    )


def _refuse(problems: list[str], streamed: StreamedOutput | None) -> NoReturn:
    """Raise :class:`BundleInvalid`, leaving nothing of what was streamed."""
    if streamed is not None:
        streamed.discard(refused=True)
    raise BundleInvalid(problems)


def _key_table_kept(
    index: IdIndex | None,
    test_ids: pa.Array | None,
    streamed: StreamedOutput | None,
    problems: list[str],
) -> list[KeyTable]:
    """The key table the proof of the test ids made (ids of no numbered shape), and what
    else it made of them, let go by their index once the solution's ids are paired with
    them: when the import streams its output (and nothing is refused so far), the table
    is written at once beside the solution (``streamed.test_keys``) and not held (at 10M
    UUIDs the table, the keys and the padded bytes of free strings are 0.4-0.6 GB, held
    through the checks after the ids' before); else it is kept for ``standardize``."""
    table = None if index is None else index.release()
    if table is None or test_ids is None or problems:  # problems: the bundle is refused
        return []
    if streamed is None:
        return [table]
    if keys_wanted(test_ids, index.shape):
        path = streamed.out_dir / SOLUTION_KEYS
        path.parent.mkdir(exist_ok=True)
        if keyfile.write(path, test_ids, table):
            streamed.test_keys = path
    return []


def _known_indexes(
    parts: dict[str, Part | None], streamed: StreamedOutput | None
) -> dict[str, IdIndex]:
    """The :class:`IdIndex` the solution's thread made of its ids (their shape found
    there), for test's ids too when test holds the solution's very array (a solution in
    test's order: ``datasets.core.scan`` holds such ids once); none otherwise. Ids read as
    text are the index's own; others (integers) are the column its text was made of."""
    test, solution = parts.get("test"), parts.get("solution")
    made = None if streamed is None else streamed.solution
    index = None if made is None else made.index
    if index is None or test is None or solution is None:
        return {}
    if test.ids is None or solution.ids is None or not same_memory(test.ids, solution.ids):
        return {}
    read = index.ids if index.source is None else index.source
    return {"test": index, "solution": index} if same_memory(read, test.ids) else {}


def _check_rows_and_ids(
    parts: dict[str, Part | None], problems: list[str], known: dict[str, IdIndex]
) -> tuple[dict[str, pa.Array | None], dict[str, IdIndex]]:
    """Each file's rows and ids (:func:`rules.check_rows`, :func:`rules.check_ids`), in
    ``PARTS`` order, with the indexes ``known`` of their ids (:func:`_known_indexes`).
    Returns each file's ids as text (None where unusable) and the :class:`IdIndex` of
    test's and the solution's (train's, and its key table, are let go once its ids are
    proven: 0.2 GB at 5M UUIDs, no longer held while test's are proven)."""
    ids: dict[str, pa.Array | None] = {}
    indexes: dict[str, IdIndex] = dict(known)
    test_ids_ok = False
    for part in (p for p in parts.values() if p is not None):
        rules.check_rows(part, problems)
        before = len(problems)
        # The solution's ids in test's order are test's: proven distinct once.
        proven = ids.get("test") if part.part == "solution" and test_ids_ok else None
        ids[part.part] = rules.check_ids(part, problems, indexes, distinct=proven)
        if part.part == "test":
            test_ids_ok = ids["test"] is not None and len(problems) == before
        indexes.pop("train", None)
        release_unused_memory()  # each check's temporaries, before the next one's
    return ids, indexes


@functools.cache
def _rows_as_test() -> pa.Array:
    """What :func:`_solution_rows_in_test` returns for a solution whose rows are test's, in
    order: no row map made (one empty array, made on first use: an array made at import
    would import pandas, which pyarrow imports on its first array, into every command)."""
    return pa.array([], pa.int64())


def _solution_rows_in_test(
    test: Part | None,
    solution: Part | None,
    ids: dict[str, pa.Array | None],
    indexes: dict[str, IdIndex],
    problems: list[str],
) -> pa.Array | None:
    """The test row of each solution row (:func:`rules.check_same_ids`), or
    :func:`_rows_as_test` when the solution's ids are test's very array (proven the same
    in the same order as they were read: ``datasets.core.scan``); None when either file or
    its ids are unusable, or the two id sets differ."""
    test_ids, solution_ids = ids.get("test"), ids.get("solution")
    if test is None or solution is None or test_ids is None or solution_ids is None:
        return None
    if same_memory(test_ids, solution_ids):
        return _rows_as_test()
    return rules.check_same_ids(test, test_ids, solution, solution_ids, problems, indexes)


def _check_kind_labels(
    kind: TaskKind | None,
    train: Part | None,
    solution: Part | None,
    labels: dict[str, pa.Array | None],
    problems: list[str],
    warnings: list[str],
) -> tuple[str, ...]:
    """The kind's own rules on train's (and the solution's) labels. Returns the classes
    (empty when the labels could not be read)."""
    if kind is None or train is None:
        return ()
    classes: tuple[str, ...] = ()
    if labels.get("train") is not None:
        both = BundleLabels(
            train_name=train.name,
            train=labels["train"],
            train_rows=train.rows,
            solution_name=None if solution is None else solution.name,
            solution=labels.get("solution"),
        )
        classes = kind.bundle_classes(both, problems, warnings)
    return classes


def _check_declared_columns(
    spec: TaskSpec, train: Part | None, features: list[str], problems: list[str]
) -> None:
    """Every column task.yaml declares a type for is a feature column of train."""
    if train is None:
        return
    for name in spec.columns:
        if name not in features:
            problems.append(
                f"task.yaml: columns: {quote(name)} is declared but {train.name} has no such column"
            )


def _integral(parts: list[Part]) -> frozenset[tuple[str, str]]:
    """The (file, column) pairs whose profile is ``integral`` (floats: every value whole,
    so their text drops ``.0``)."""
    return frozenset(
        (p.part, name) for p in parts for name, prof in p.profiles.items() if prof.integral
    )


def _check_stress(
    spec: TaskSpec, kind: TaskKind, features: list[str], types: dict[str, str], problems: list[str]
) -> list[dict[str, object]] | None:
    """task.yaml's ``stress`` checked against the column types (docs/organizers/stress.md): the plan
    as stored in task.json, or None (every family that applies, decided per run)."""
    if spec.stress is None:
        return None
    columns = tuple((name, types.get(name, "text")) for name in features)
    try:
        return [p.as_json() for p in stress_plan(kind, columns, spec.stress)]
    except StressRefused as refused:
        problems += [f"task.yaml: {problem}" for problem in refused.problems]
        return None


def _probe(
    kind: TaskKind,
    train: Part | None,
    ids: pa.Array | None,
    labels: pa.Array | None,
    mode: str,
    problems: list[str],
    warnings: list[str],
    ahead: ProbeAhead | None = None,
) -> None:
    """The leak probe (:mod:`datasets.core.leakprobe`) on train's ids and labels: a problem,
    a warning or nothing (nothing either when train, its ids or its labels are unusable).
    ``ahead``: the probe started as soon as train was read, whose finding is taken when it
    ran on these ids and labels."""
    if train is None or ids is None or labels is None or mode == "off":
        return
    known, found = ahead.answer(kind, ids, labels) if ahead is not None else (False, None)
    if not known:
        found = probe_leak(kind=kind, ids=ids, labels=labels)
    if found is not None:
        (problems if mode == "refuse" else warnings).append(found.message(train.name))


def _check_slices(
    spec: TaskSpec, test: Part | None, types: dict[str, str], problems: list[str]
) -> None:
    """Each of task.yaml's ``slices`` is a categorical feature column of the test file."""
    if test is None:
        return
    for name in spec.slices:
        if name not in test.columns or name not in types:
            problems.append(
                f"task.yaml: slices: {quote(name)} is not a feature column of {test.name}"
            )
        elif types[name] != "categorical":
            problems.append(
                f"task.yaml: slices: '{name}' is a {types[name]} column; a slice column must be"
                f" categorical (declare it in columns: {{{name}: categorical}})"
            )


def _has(part: Part | None, column: str) -> bool:
    return part is not None and column in part.columns


def _opis_source(column: str, test: Part | None, solution: Part | None, problems: list[str]) -> str:
    """Where the OPIS group column lives: ``test``, ``solution`` or "" (none given)."""
    if not column or test is None or solution is None:
        return ""
    if column in test.columns:
        return "test"
    if column in solution.columns:
        return "solution"
    problems.append(
        f"task.yaml: opis.group_column {quote(column)} is neither a column of {test.name} nor of"
        f" {solution.name}"
    )
    return ""


def _solution(
    spec: TaskSpec,
    test_ids: pa.Array,
    test_rows: pa.Array,
    labels: pa.Array,
    solution: Part,
    group_source: str,
) -> pa.Table:
    """``id, label[, group column]`` of the solution, in test's row order."""
    rows = test_rows.to_numpy()
    in_order = test_rows is _rows_as_test() or _counting(rows)  # the usual case: no copies

    def in_test_order(values: pa.Array) -> pa.Array:
        if in_order:
            return values
        order = np.empty(len(rows), dtype=np.int64)  # solution row of each test row
        order[rows] = np.arange(len(rows))
        return values.take(order)

    columns = {"id": test_ids, "label": in_test_order(labels)}
    if group_source == "solution":
        column = spec.opis.group_column
        columns[column] = in_test_order(as_text(solution.kept[column]))
    return pa.table(columns)


def _counting(rows: np.ndarray, block: int = 1 << 20) -> bool:
    """Whether ``rows`` is 0, 1, 2, ... (compared a block at a time: no second array of
    the column's size)."""
    return all(
        np.array_equal(rows[start : start + block], np.arange(start, min(start + block, len(rows))))
        for start in range(0, len(rows), block)
    )
