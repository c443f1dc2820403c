"""Bundle rules across the tables: ids, required columns, feature names, labels.

Each check appends plain-words problems (and warnings) to lists, so that the caller can
report every problem of a bundle at once. The checks run on whole Arrow arrays of the id and
label columns with Arrow's hash kernels (value counts, membership), never on Python objects.
What a label must be beyond "not empty" (0/1, a class, an entity, a number), and which
feature names go together, is the task's kind's rule (``kinds``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.arrowtools import same_memory
from common.coerce import as_text
from common.wording import EXAMPLES, examples, plural
from datasets.core.idset import IdIndex, same_ids_in_order, same_set
from datasets.core.scan import Part
from kinds import TaskKind

RESERVED = ("id", "label", "split")
MIN_TEST_ROWS = 2


def _rows(mask: pa.Array) -> str:
    """1-based data row numbers of ``mask``'s True entries."""
    positions = pc.indices_nonzero(pc.fill_null(mask, False))
    first = (np.asarray(positions[:EXAMPLES]) + 1).tolist()
    return f"at data rows {examples(first, total=len(positions))}"


def _first(values: pa.Array, limit: int = EXAMPLES) -> list[object]:
    return values[:limit].to_pylist()


def check_rows(part: Part, problems: list[str]) -> None:
    """Train and test need data rows; test needs two so it can be split."""
    rows = part.rows
    if part.part in ("train", "test") and rows == 0:
        problems.append(f"{part.name} has no data rows")
    elif part.part == "test" and rows < MIN_TEST_ROWS:
        problems.append(
            f"{part.name} has {plural(rows, 'row')}; at least {MIN_TEST_ROWS} are needed"
            " to split it into public and private rows"
        )


def check_ids(
    part: Part,
    problems: list[str],
    indexes: dict[str, IdIndex] | None = None,
    *,
    distinct: pa.Array | None = None,
) -> pa.Array | None:
    """The ``id`` column: present, never empty, unique. Returns the ids as text.

    ``indexes`` receives the part's :class:`IdIndex`, for :func:`check_same_ids` (one it
    holds already for the part, made of these very ids, is used).
    ``distinct``: ids already proven distinct (test's, for the solution); when this part's
    are the same in the same order (one comparison), they need no proof of their own.
    """
    if part.ids is None:
        near = [c for c in part.columns if str(c).strip().lower() == "id"]
        hint = f" (found {examples(near)}; the name is lowercase 'id')" if near else ""
        problems.append(f"{part.name}: the 'id' column is missing{hint}")
        return None
    known = None if indexes is None else indexes.get(part.part)
    if known is not None and known.source is not None and same_memory(known.source, part.ids):
        ids = known.ids  # their text, made once (the solution's thread)
    else:
        ids = as_text(part.ids)
    if ids.null_count:
        problems.append(
            f"{part.name}: empty id in {plural(ids.null_count, 'row')}, {_rows(pc.is_null(ids))}"
        )
    index = known if known is not None and same_memory(known.ids, ids) else IdIndex(ids)
    if indexes is not None:
        indexes[part.part] = index
    if distinct is not None and not ids.null_count and same_ids_in_order(ids, distinct):
        return ids
    if index.all_distinct():
        return ids  # proven with sorted keys; the exact counts below name the duplicates
    counts = pc.value_counts(ids).flatten()  # in the order the values first appear
    dupes = pc.filter(counts[0], pc.and_(pc.greater(counts[1], 1), pc.is_valid(counts[0])))
    if len(dupes):
        problems.append(
            f"{part.name}: ids appear more than once ({len(dupes)}):"
            f" {examples(_first(dupes), total=len(dupes))}"
        )
    return ids


def check_columns(
    train: Part | None,
    test: Part | None,
    solution: Part | None,
    problems: list[str],
    *,
    solution_extra: tuple[str, ...] = (),
) -> list[str]:
    """Required and forbidden columns, reserved names, train/test feature agreement.

    ``solution_extra`` names the solution columns allowed besides id and label (an OPIS
    group column). Returns the feature columns in train's order (test's when train is
    unreadable).
    """
    _check_label_columns(train, test, problems)
    if solution is not None:
        _check_solution_columns(solution, problems, solution_extra)
    features = {t.name: _features(t) for t in (train, test) if t is not None}
    for name, columns in features.items():
        _check_feature_names(name, columns, problems)
    if train is not None and test is not None:
        _check_same_features(train, test, features, problems)
    source = train if train is not None else test
    return features.get(source.name, []) if source is not None else []


def _check_label_columns(train: Part | None, test: Part | None, problems: list[str]) -> None:
    """Train has the label; test must not (its labels are the solution's)."""
    if train is not None and "label" not in train.columns:
        problems.append(f"{train.name}: the 'label' column is missing")
    if test is not None and "label" in test.columns:
        problems.append(
            f"{test.name} must not contain a 'label' column: test labels belong in the solution"
        )


def _check_solution_columns(
    solution: Part, problems: list[str], solution_extra: tuple[str, ...]
) -> None:
    """The solution holds id, label and only the ``solution_extra`` columns besides."""
    if "label" not in solution.columns:
        problems.append(f"{solution.name}: the 'label' column is missing")
    extra = [c for c in solution.columns if c not in ("id", "label", *solution_extra)]
    if extra:
        problems.append(
            f"{solution.name}: unexpected columns {examples(extra)}; the solution holds only"
            " id and label"
        )


def _check_feature_names(name: str, columns: list[str], problems: list[str]) -> None:
    """A file's feature columns: no reserved name, and at least one of them."""
    reserved = [c for c in columns if _reserved(c)]
    if reserved:
        problems.append(
            f"{name}: columns {examples(reserved)} use reserved names (id, label, split"
            " and names starting with proba_ are reserved)"
        )
    if not columns:
        problems.append(f"{name} has no feature columns besides id and label")


def _check_same_features(
    train: Part, test: Part, features: dict[str, list[str]], problems: list[str]
) -> None:
    """Train and test have the same feature columns (the order may differ)."""
    only_train = [c for c in features[train.name] if c not in features[test.name]]
    only_test = [c for c in features[test.name] if c not in features[train.name]]
    if only_train or only_test:
        sides = [
            f"only in {t.name}: {examples(cols)}"
            for t, cols in ((train, only_train), (test, only_test))
            if cols
        ]
        problems.append(f"train and test feature columns differ ({'; '.join(sides)})")


def _features(part: Part) -> list[str]:
    return [str(c) for c in part.columns if c not in ("id", "label")]


def _reserved(column: str) -> bool:
    lower = column.strip().lower()
    return lower in RESERVED or lower.startswith("proba_")


def _absent(values: pa.Array, others: pa.Array) -> pa.Array:
    """Distinct non-missing ``values`` not among ``others``, in order of first appearance."""
    keep = pc.and_(pc.invert(pc.is_in(values, value_set=others)), pc.is_valid(values))
    return pc.unique(pc.filter(values, keep))


def check_same_ids(
    test: Part,
    test_ids: pa.Array,
    solution: Part,
    solution_ids: pa.Array,
    problems: list[str],
    indexes: dict[str, IdIndex] | None = None,
) -> pa.Array | None:
    """Every test id has exactly one solution row, and no solution row is extra.

    Returns, when the ids are the same set (and unique), the test row of each solution row.
    """
    indexes = indexes or {}
    where = same_set(
        indexes.get("test") or IdIndex(test_ids), indexes.get("solution") or IdIndex(solution_ids)
    )
    if where is not None:
        return pa.array(where)
    missing = _absent(test_ids, solution_ids)
    extra = _absent(solution_ids, test_ids)
    if len(missing) or len(extra):
        sides = []
        if len(missing):
            sides.append(
                f"{test.name} has {plural(len(missing), 'id')} missing from {solution.name}:"
                f" {examples(_first(missing), total=len(missing))}"
            )
        if len(extra):
            sides.append(
                f"{solution.name} has {plural(len(extra), 'id')} not in {test.name}:"
                f" {examples(_first(extra), total=len(extra))}"
            )
        problems.append(f"test and solution ids differ: {'; '.join(sides)}")
        return None
    # The same set, not proven by ``same_set`` (ids longer than it keys, say): found exactly.
    found = pc.index_in(solution_ids, value_set=test_ids)
    return None if found.null_count else found.cast(pa.int64())


def check_labels(
    kind: TaskKind | None, part: Part, ids: pa.Array | None, problems: list[str]
) -> pa.Array | None:
    """Labels of train or solution: never empty, then as the kind says. Returns them in
    the kind's standard form."""
    if part.labels is None or kind is None:
        return None
    labels = as_text(part.labels)
    if labels.null_count:
        problems.append(
            f"{part.name}: empty label in {plural(labels.null_count, 'row')},"
            f" {_where(pc.is_null(labels), ids)}"
        )
    return kind.bundle_labels(
        part.labels,
        labels,
        file_name=part.name,
        where=lambda mask: _where(mask, ids),
        problems=problems,
    )


def _where(mask: pa.Array, ids: pa.Array | None) -> str:
    if ids is None:
        return _rows(mask)
    chosen = pc.filter(ids, mask)
    first = pc.fill_null(chosen[:EXAMPLES], "?").to_pylist()
    return f"ids {examples(first, total=len(chosen))}"
