"""Bundle rules across the tables: ids, required columns, feature names, labels, pairs.

Each check appends plain-words problems (and warnings) to lists, so that the caller can
report every problem of a bundle at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasets.core.errors import examples, plural
from datasets.core.tables import Table
from datasets.core.values import as_binary, as_text

MAX_CLASSES = 1000
RESERVED = ("id", "label", "split")
MIN_TEST_ROWS = 2
PAIR_PREFIXES = ("left_", "right_")


def _rows(mask: pd.Series) -> str:
    """1-based data row numbers of ``mask``'s True entries."""
    positions = np.flatnonzero(mask.to_numpy(dtype=bool)) + 1
    return f"at data rows {examples(positions.tolist())}"


def check_rows(table: Table, problems: list[str]) -> None:
    """Train and test need data rows; test needs two so it can be split."""
    rows = len(table.frame)
    if table.part in ("train", "test") and rows == 0:
        problems.append(f"{table.name} has no data rows")
    elif table.part == "test" and rows < MIN_TEST_ROWS:
        problems.append(
            f"{table.name} has {plural(rows, 'row')}; at least {MIN_TEST_ROWS} are needed"
            " to split it into public and private rows"
        )


def check_ids(table: Table, problems: list[str]) -> pd.Series | None:
    """The ``id`` column: present, never empty, unique. Returns the ids as text."""
    frame = table.frame
    if "id" not in frame.columns:
        near = [c for c in frame.columns if str(c).strip().lower() == "id"]
        hint = f" (found {examples(near)}; the name is lowercase 'id')" if near else ""
        problems.append(f"{table.name}: the 'id' column is missing{hint}")
        return None
    ids = as_text(frame["id"])
    if ids.isna().any():
        problems.append(
            f"{table.name}: empty id in {plural(int(ids.isna().sum()), 'row')}, {_rows(ids.isna())}"
        )
    dupes = ids[ids.duplicated(keep=False) & ids.notna()].unique()
    if len(dupes):
        problems.append(
            f"{table.name}: ids appear more than once ({len(dupes)}): {examples(dupes)}"
        )
    return ids


def check_columns(
    train: Table | None, test: Table | None, solution: Table | None, problems: list[str]
) -> list[str]:
    """Required and forbidden columns, reserved names, train/test feature agreement.

    Returns the feature columns in train's order (test's when train is unreadable).
    """
    if train is not None and "label" not in train.frame.columns:
        problems.append(f"{train.name}: the 'label' column is missing")
    if test is not None and "label" in test.frame.columns:
        problems.append(
            f"{test.name} must not contain a 'label' column: test labels belong in the solution"
        )
    if solution is not None:
        if "label" not in solution.frame.columns:
            problems.append(f"{solution.name}: the 'label' column is missing")
        extra = [c for c in solution.frame.columns if c not in ("id", "label")]
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


def _features(table: Table) -> list[str]:
    return [str(c) for c in table.frame.columns if c not in ("id", "label")]


def _reserved(column: str) -> bool:
    lower = column.strip().lower()
    return lower in RESERVED or lower.startswith("proba_")


def check_same_ids(
    test: Table,
    test_ids: pd.Series,
    solution: Table,
    solution_ids: pd.Series,
    problems: list[str],
) -> None:
    """Every test id has exactly one solution row, and no solution row is extra."""
    missing = test_ids[~test_ids.isin(solution_ids) & test_ids.notna()].unique()
    extra = solution_ids[~solution_ids.isin(test_ids) & solution_ids.notna()].unique()
    if len(missing) or len(extra):
        sides = []
        if len(missing):
            sides.append(
                f"{test.name} has {plural(len(missing), 'id')} missing from {solution.name}:"
                f" {examples(missing)}"
            )
        if len(extra):
            sides.append(
                f"{solution.name} has {plural(len(extra), 'id')} not in {test.name}:"
                f" {examples(extra)}"
            )
        problems.append(f"test and solution ids differ: {'; '.join(sides)}")


def check_pairs(table: Table, features: list[str], problems: list[str]) -> None:
    """Matching features come as ``left_<attr>`` / ``right_<attr>`` pairs."""
    loose = [c for c in features if not c.startswith(("left_", "right_")) or c in PAIR_PREFIXES]
    if loose:
        problems.append(
            f"{table.name}: matching feature columns must be named left_<attr> or right_<attr>;"
            f" these are not: {examples(loose)}"
        )
    lefts = {c[len("left_") :] for c in features if c.startswith("left_")} - {""}
    rights = {c[len("right_") :] for c in features if c.startswith("right_")} - {""}
    unpaired = [f"left_{a} (no right_{a})" for a in sorted(lefts - rights)]
    unpaired += [f"right_{a} (no left_{a})" for a in sorted(rights - lefts)]
    if unpaired:
        problems.append(f"{table.name}: unpaired matching columns: {', '.join(unpaired[:5])}")
    if not lefts & rights:
        problems.append(
            f"{table.name}: matching needs at least one pair of columns left_<attr> and"
            " right_<attr>"
        )


def check_labels(
    kind: str, table: Table, ids: pd.Series | None, problems: list[str]
) -> pd.Series | None:
    """Labels of train or solution: never empty; 0/1 for matching. Returns them as text."""
    if "label" not in table.frame.columns or not kind:
        return None
    raw = table.frame["label"]
    labels = as_text(raw)
    where = _where(labels.isna(), ids)
    if labels.isna().any():
        problems.append(
            f"{table.name}: empty label in {plural(int(labels.isna().sum()), 'row')}, {where}"
        )
    if kind == "matching":
        binary, bad = as_binary(raw)
        bad = bad.dropna()
        if len(bad):
            problems.append(
                f"{table.name}: matching labels must be 0 or 1; other values in"
                f" {plural(len(bad), 'row')}: {examples(bad.unique())}"
            )
        return binary.astype("Int64").astype("string")
    return labels


def _where(mask: pd.Series, ids: pd.Series | None) -> str:
    if ids is None:
        return _rows(mask)
    return f"ids {examples(ids[mask.to_numpy()].fillna('?'))}"


def check_classes(
    kind: str,
    train: Table,
    train_labels: pd.Series,
    solution: Table | None,
    solution_labels: pd.Series | None,
    problems: list[str],
    warnings: list[str],
) -> tuple[str, ...]:
    """Enough classes in train, not too many; classes only the solution has are warned about."""
    seen = sorted(train_labels.dropna().unique())
    solution_seen = [] if solution_labels is None else sorted(solution_labels.dropna().unique())
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
    if len(seen) < 2 and len(train.frame):
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
