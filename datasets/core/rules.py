"""Bundle rules across the tables: ids, required columns, feature names, labels, pairs.

Each check appends plain-words problems (and warnings) to lists, so that the caller can
report every problem of a bundle at once. The checks run on whole Arrow arrays of the id and
label columns with Arrow's hash kernels (value counts, membership), never on Python objects.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasets.core.errors import EXAMPLES, examples, plural
from datasets.core.idset import IdIndex, same_set
from datasets.core.scan import Part
from datasets.core.values import as_binary, as_text

MAX_CLASSES = 1000
RESERVED = ("id", "label", "split")
MIN_TEST_ROWS = 2
PAIR_PREFIXES = ("left_", "right_")


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
    part: Part, problems: list[str], indexes: dict[str, IdIndex] | None = None
) -> pa.Array | None:
    """The ``id`` column: present, never empty, unique. Returns the ids as text.

    ``indexes`` receives the part's :class:`IdIndex`, for :func:`check_same_ids`.
    """
    if part.ids is None:
        near = [c for c in part.columns if str(c).strip().lower() == "id"]
        hint = f" (found {examples(near)}; the name is lowercase 'id')" if near else ""
        problems.append(f"{part.name}: the 'id' column is missing{hint}")
        return None
    ids = as_text(part.ids)
    if ids.null_count:
        problems.append(
            f"{part.name}: empty id in {plural(ids.null_count, 'row')}, {_rows(pc.is_null(ids))}"
        )
    index = IdIndex(ids)
    if indexes is not None:
        indexes[part.part] = index
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
    if train is not None and "label" not in train.columns:
        problems.append(f"{train.name}: the 'label' column is missing")
    if test is not None and "label" in test.columns:
        problems.append(
            f"{test.name} must not contain a 'label' column: test labels belong in the solution"
        )
    if solution is not None:
        if "label" not in solution.columns:
            problems.append(f"{solution.name}: the 'label' column is missing")
        extra = [c for c in solution.columns if c not in ("id", "label", *solution_extra)]
        if extra:
            problems.append(
                f"{solution.name}: unexpected columns {examples(extra)}; the solution holds only"
                " id and label"
            )
    features = {t.name: _features(t) for t in (train, test) if t is not None}
    for name, columns in features.items():
        reserved = [c for c in columns if _reserved(c)]
        if reserved:
            problems.append(
                f"{name}: columns {examples(reserved)} use reserved names (id, label, split"
                " and names starting with proba_ are reserved)"
            )
        if not columns:
            problems.append(f"{name} has no feature columns besides id and label")
    if train is not None and test is not None:
        only_train = [c for c in features[train.name] if c not in features[test.name]]
        only_test = [c for c in features[test.name] if c not in features[train.name]]
        if only_train or only_test:
            sides = [
                f"only in {t.name}: {examples(cols)}"
                for t, cols in ((train, only_train), (test, only_test))
                if cols
            ]
            problems.append(f"train and test feature columns differ ({'; '.join(sides)})")
    source = train if train is not None else test
    return features.get(source.name, []) if source is not None else []


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


def check_pairs(part: Part, features: list[str], problems: list[str]) -> None:
    """Matching features come as ``left_<attr>`` / ``right_<attr>`` pairs."""
    loose = [c for c in features if not c.startswith(("left_", "right_")) or c in PAIR_PREFIXES]
    if loose:
        problems.append(
            f"{part.name}: matching feature columns must be named left_<attr> or right_<attr>;"
            f" these are not: {examples(loose)}"
        )
    lefts = {c[len("left_") :] for c in features if c.startswith("left_")} - {""}
    rights = {c[len("right_") :] for c in features if c.startswith("right_")} - {""}
    unpaired = [f"left_{a} (no right_{a})" for a in sorted(lefts - rights)]
    unpaired += [f"right_{a} (no left_{a})" for a in sorted(rights - lefts)]
    if unpaired:
        problems.append(f"{part.name}: unpaired matching columns: {', '.join(unpaired[:5])}")
    if not lefts & rights:
        problems.append(
            f"{part.name}: matching needs at least one pair of columns left_<attr> and right_<attr>"
        )


def check_labels(
    kind: str, part: Part, ids: pa.Array | None, problems: list[str]
) -> pa.Array | None:
    """Labels of train or solution: never empty; 0/1 for matching. Returns them as text."""
    if part.labels is None or not kind:
        return None
    labels = as_text(part.labels)
    if labels.null_count:
        problems.append(
            f"{part.name}: empty label in {plural(labels.null_count, 'row')},"
            f" {_where(pc.is_null(labels), ids)}"
        )
    if kind == "matching":
        binary, bad = as_binary(part.labels)
        bad_values = pc.filter(labels, bad)
        if len(bad_values):
            distinct = pc.unique(bad_values)
            problems.append(
                f"{part.name}: matching labels must be 0 or 1; other values in"
                f" {plural(len(bad_values), 'row')}:"
                f" {examples(_first(distinct), total=len(distinct))}"
            )
        return binary
    return labels


def _where(mask: pa.Array, ids: pa.Array | None) -> str:
    if ids is None:
        return _rows(mask)
    chosen = pc.filter(ids, mask)
    first = pc.fill_null(chosen[:EXAMPLES], "?").to_pylist()
    return f"ids {examples(first, total=len(chosen))}"


def _sorted_distinct(labels: pa.Array | None) -> list[str]:
    if labels is None:
        return []
    return sorted(pc.unique(pc.drop_null(labels)).to_pylist())


def check_classes(
    kind: str,
    train: Part,
    train_labels: pa.Array,
    solution: Part | None,
    solution_labels: pa.Array | None,
    problems: list[str],
    warnings: list[str],
) -> tuple[str, ...]:
    """Enough classes in train, not too many; classes only the solution has are warned about."""
    seen = _sorted_distinct(train_labels)
    solution_seen = _sorted_distinct(solution_labels)
    if kind == "matching":
        if set(seen) != {"0", "1"}:
            problems.append(
                f"{train.name}: matching needs both matches (1) and non-matches (0) in 'label',"
                f" found only {examples(seen) or 'none'}"
            )
        if solution is not None and solution_labels is not None and "1" not in solution_seen:
            warnings.append(f"{solution.name} holds no match (label 1); F1 will be 0 for all")
        return ("0", "1")
    classes = sorted(set(seen) | set(solution_seen))
    if len(seen) < 2 and train.rows:
        problems.append(
            f"{train.name}: classification needs at least 2 classes in 'label', found"
            f" {len(seen)}: {examples(seen)}"
        )
    if len(classes) > MAX_CLASSES:
        problems.append(
            f"{train.name}: 'label' holds {len(classes):,} classes (train and solution"
            f" together), over the limit of {MAX_CLASSES:,}"
            " (is 'label' really a class?)"
        )
    unseen = [c for c in solution_seen if c not in set(seen)]
    if unseen and solution is not None:
        warnings.append(
            f"{solution.name}: classes that never appear in train ({len(unseen)}):"
            f" {examples(unseen)}"
        )
    return tuple(classes)


def check_entities(
    train: Part,
    train_labels: pa.Array,
    solution: Part,
    solution_labels: pa.Array,
    problems: list[str],
    warnings: list[str],
) -> None:
    """Grouping: train and test entities are disjoint; a solution without pairs is warned."""
    shared = pc.unique(
        pc.filter(
            solution_labels,
            pc.and_(
                pc.is_in(solution_labels, value_set=train_labels), pc.is_valid(solution_labels)
            ),
        )
    )
    if len(shared):
        problems.append(
            f"{train.name} and {solution.name} share {plural(len(shared), 'entity id')} in 'label':"
            f" {examples(_first(shared), total=len(shared))}; grouping needs the entities of"
            " test and train to be disjoint (every record of an entity on one side)"
        )
    for part, labels in ((train, train_labels), (solution, solution_labels)):
        counts = pc.value_counts(pc.drop_null(labels)).flatten()
        if len(labels) and not pc.any(pc.greater(counts[1], 1)).as_py():
            warnings.append(
                f"{part.name} gives no two records the same entity in 'label'; there are no"
                " pairs to find"
            )
