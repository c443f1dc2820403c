"""Each feature column's type in a bundle: declared in ``task.yaml`` or inferred from the
profile gathered in the check's one pass (the rules in :mod:`datasets.core.infer`; a
matching pair's columns share one type), declared numeric columns parsed, and the image
columns' paths checked to exist under ``images/`` and decode. Called by
:func:`datasets.core.validate.validate_bundle`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from common.wording import examples, plural
from datasets.core.images import FOLDER, check_decodable, check_image_paths, image_file
from datasets.core.infer import infer_from_profile
from datasets.core.profile import merge
from datasets.core.scan import Part
from datasets.core.spec import TaskSpec
from kinds import TaskKind


def _groups(kind: TaskKind | None, features: list[str]) -> list[list[str]]:
    """Columns typed together (a matching pair shares one type), as the kind groups them."""
    groups: dict[str, list[str]] = {}
    for name in features:
        groups.setdefault(name if kind is None else kind.column_group(name), []).append(name)
    return list(groups.values())


def column_types(
    *,
    folder: Path,
    spec: TaskSpec,
    kind: TaskKind | None,
    features: list[str],
    parts: list[Part],
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
    for group in _groups(kind, features):
        profiles = [p.profiles[c] for p in parts for c in group if c in p.profiles]
        declared = {spec.columns[c] for c in group if c in spec.columns}
        if len(declared) > 1:
            problems.append(
                f"task.yaml: columns: {' and '.join(group)} form a pair and need the same type"
            )
        if declared:
            column_type = sorted(declared)[0]
        elif not profiles:
            column_type = "text"
            warnings.append(f"column {examples(group)} is empty in every row")
        else:
            profile = merge(profiles)
            column_type = infer_from_profile(profile=profile, exists=exists)
            if profile.present == 0:
                warnings.append(f"column {examples(group)} is empty in every row")
            elif column_type == "text" and profile.image_like:
                warnings.append(
                    f"column {examples(group)} looks like image paths but no file exists under"
                    f" {FOLDER}/; it is treated as text"
                )
        types.update(dict.fromkeys(group, column_type))
    for part in parts:
        for name in features:
            profile = part.profiles.get(name)
            declared_numeric = types.get(name) == "numeric" and name in spec.columns
            if declared_numeric and profile is not None and profile.bad_rows:
                problems.append(
                    f"{part.name}: column '{name}' is declared numeric but holds values"
                    f" that are not numbers ({plural(profile.bad_rows, 'row')}):"
                    f" {examples(profile.bad_distinct())}"
                )
    return types


def images_checked(
    *, folder: Path, types: dict[str, str], parts: list[Part], problems: list[str]
) -> set[str]:
    """Image paths exist under ``images/`` and decode; ``images/`` only with image columns."""
    images_dir = folder / FOLDER
    image_columns = [name for name, ctype in types.items() if ctype == "image"]
    if images_dir.is_dir() and not image_columns:
        problems.append(
            f"{FOLDER}/ is present but no column holds image paths; declare the image columns"
            " in task.yaml (for example  columns: {photo: image})"
        )
    paths: set[str] = set()
    for part in parts:
        for name in image_columns:
            profile = part.profiles.get(name)
            if profile is not None:
                counts = profile.path_counts()
                paths |= check_image_paths(
                    images_dir,
                    part.name,
                    name,
                    counts["value"].to_pylist(),
                    counts["count"].to_pylist(),
                    problems,
                )
    check_decodable(images_dir, paths, problems)
    return paths
