"""``validate_bundle``: check a bundle folder against every rule, report all problems at once.

Refused (each message names the file, the column and up to five example ids or rows):
- task.yaml: missing, not UTF-8, over 1 MB, invalid YAML, YAML tags (``safe_load`` only), not
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
- classification: fewer than 2 classes in train, more than 1000 classes;
- matching: features not named left_/right_<attr>, unpaired columns, no pair, labels other
  than 0/1, train without both 0 and 1;
- images: absolute, backslash or ``..`` paths, paths missing under images/, files Pillow
  cannot verify, an images/ folder with no image column.

Warned (the bundle is accepted): solution classes never seen in train, a solution without
matches, an entirely empty column, a column of image-like paths with no file under images/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from datasets.core import rules
from datasets.core.errors import BundleInvalid, examples, plural
from datasets.core.images import FOLDER, check_decodable, check_image_column, image_file
from datasets.core.infer import infer_type, looks_like_image_paths
from datasets.core.io import standard_frame
from datasets.core.spec import TaskSpec, read_task_spec
from datasets.core.tables import PARTS, Table, read_part
from datasets.core.values import as_numbers

DEFAULT_MAX_ROWS = 10_000_000
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3


@dataclass(frozen=True, eq=False)
class ValidatedBundle:
    """A bundle that passed every rule, its tables already in the standard dtypes.

    ``train`` is ``id, features..., label``; ``test`` is ``id, features...`` in the same
    column order; ``solution`` is ``id, label`` in test's row order. ``images`` holds the
    normalized paths the image columns reference, relative to ``images_dir``.
    """

    folder: Path
    spec: TaskSpec
    columns: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]
    train: pd.DataFrame
    test: pd.DataFrame
    solution: pd.DataFrame
    images: frozenset[str]
    warnings: tuple[str, ...]

    @property
    def images_dir(self) -> Path:
        """The bundle's ``images/`` folder."""
        return self.folder / FOLDER


def validate_bundle(
    folder: Path,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> ValidatedBundle:
    """Check the bundle in ``folder``; raise :class:`BundleInvalid` listing every problem."""
    problems: list[str] = []
    warnings: list[str] = []
    spec, spec_problems = read_task_spec(folder)
    problems += spec_problems
    tables = {
        part: read_part(folder, part, problems, max_rows=max_rows, max_file_bytes=max_file_bytes)
        for part in PARTS
    }
    train, test, solution = (tables[p] for p in PARTS)
    ids = {}
    for table in (t for t in tables.values() if t is not None):
        rules.check_rows(table, problems)
        ids[table.part] = rules.check_ids(table, problems)
    features = rules.check_columns(train, test, solution, problems)
    test_ids, solution_ids = ids.get("test"), ids.get("solution")
    if test and solution and test_ids is not None and solution_ids is not None:
        rules.check_same_ids(test, test_ids, solution, solution_ids, problems)
    labels = {
        t.part: rules.check_labels(spec.kind, t, ids[t.part], problems)
        for t in (train, solution)
        if t is not None
    }
    classes: tuple[str, ...] = ()
    if train is not None and labels.get("train") is not None:
        classes = rules.check_classes(
            spec.kind,
            train,
            labels["train"],
            solution,
            labels.get("solution"),
            problems,
            warnings,
        )
    if spec.kind == "matching" and train is not None:
        rules.check_pairs(train, features, problems)
    if train is not None:
        for name in spec.columns:
            if name not in features:
                problems.append(
                    f"task.yaml: columns: '{name}' is declared but {train.name} has no such column"
                )
    present = [t for t in (train, test) if t is not None]
    types = _column_types(folder, spec, features, present, problems, warnings)
    images = _check_images(folder, types, present, problems)
    if problems:
        raise BundleInvalid(problems)
    assert train is not None and test is not None and solution is not None
    columns = tuple((name, types[name]) for name in features)
    solution_frame = solution.frame.assign(id=ids["solution"]).set_index("id")
    ordered = solution_frame.loc[ids["test"].to_numpy()].reset_index()
    return ValidatedBundle(
        folder=folder,
        spec=spec,
        columns=columns,
        classes=classes,
        train=standard_frame(train.frame, columns, spec.kind, with_label=True),
        test=standard_frame(test.frame, columns, spec.kind, with_label=False),
        solution=standard_frame(ordered, (), spec.kind, with_label=True),
        images=frozenset(images),
        warnings=tuple(warnings),
    )


def _groups(kind: str, features: list[str]) -> list[list[str]]:
    """Columns typed together: a matching pair shares one type."""
    if kind != "matching":
        return [[name] for name in features]
    groups: dict[str, list[str]] = {}
    for name in features:
        attr = name.removeprefix("left_").removeprefix("right_")
        groups.setdefault(attr, []).append(name)
    return list(groups.values())


def _column_types(
    folder: Path,
    spec: TaskSpec,
    features: list[str],
    tables: list[Table],
    problems: list[str],
    warnings: list[str],
) -> dict[str, str]:
    """Declared or inferred type of every feature; declared numeric columns must parse."""
    images_dir = folder / FOLDER
    exists: Callable[[str], bool] | None = None
    if images_dir.is_dir():

        def exists(path: str) -> bool:
            return image_file(images_dir, path) is not None

    types: dict[str, str] = {}
    for group in _groups(spec.kind, features):
        parts = [t.frame[c] for t in tables for c in group if c in t.frame.columns]
        values = pd.concat(parts, ignore_index=True) if parts else pd.Series(dtype=object)
        declared = {spec.columns[c] for c in group if c in spec.columns}
        if len(declared) > 1:
            problems.append(
                f"task.yaml: columns: {' and '.join(group)} form a pair and need the same type"
            )
        if declared:
            column_type = sorted(declared)[0]
        else:
            column_type = infer_type(values, image_exists=exists)
            if values.isna().all():
                warnings.append(f"column {examples(group)} is empty in every row")
            elif column_type == "text" and looks_like_image_paths(values):
                warnings.append(
                    f"column {examples(group)} looks like image paths but no file exists under"
                    f" {FOLDER}/; it is treated as text"
                )
        types.update(dict.fromkeys(group, column_type))
    for table in tables:
        for name in features:
            if types.get(name) == "numeric" and name in spec.columns and name in table.frame:
                _, bad = as_numbers(table.frame[name])
                if len(bad):
                    problems.append(
                        f"{table.name}: column '{name}' is declared numeric but holds values"
                        f" that are not numbers ({plural(len(bad), 'row')}):"
                        f" {examples(bad.unique())}"
                    )
    return types


def _check_images(
    folder: Path, types: dict[str, str], tables: list[Table], problems: list[str]
) -> set[str]:
    """Image paths exist under ``images/`` and decode; ``images/`` only with image columns."""
    images_dir = folder / FOLDER
    image_columns = [name for name, kind in types.items() if kind == "image"]
    if images_dir.is_dir() and not image_columns:
        problems.append(
            f"{FOLDER}/ is present but no column holds image paths; declare the image columns"
            " in task.yaml (for example  columns: {photo: image})"
        )
    paths: set[str] = set()
    for table in tables:
        for name in image_columns:
            if name in table.frame.columns:
                values = table.frame[name]
                paths |= check_image_column(images_dir, table.name, name, values, problems)
    check_decodable(images_dir, paths, problems)
    return paths
