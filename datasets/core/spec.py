"""Read and check ``task.yaml``: the task's identity, kind, column types and split settings."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common import boundedyaml
from common.wording import quote
from datasets.core.about import ABOUT_KEYS, read_about
from kinds import kind_get, kind_names
from kinds.registry import KINDS as TASK_KINDS

COLUMN_TYPES = ("text", "numeric", "categorical", "image")
KEYS = (
    "slug",
    "title",
    "kind",
    "description",
    "columns",
    "metric",
    "public_fraction",
    "split_seed",
    "opis",
    *ABOUT_KEYS,  # licence, citation, Responsible-AI notes (datasets/core/about.py)
    "stress",
    "leak_probe",
    "slices",
)
LEAK_PROBE_MODES = ("warn", "refuse", "off")
MAX_SLICE_COLUMNS = 10  # the champion gate's slice columns (docs/organizers/champion-gate.md)
OPIS_KEYS = ("group_column", "range", "min_group_rows")
OPIS_RANGE = (0.05, 0.95)
OPIS_MIN_GROUP_ROWS = 20
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 50
TITLE_MAX = 200
DESCRIPTION_MAX = 100_000  # Markdown, rendered when imported; as a method write-up's cap
MAX_YAML_BYTES = 1024 * 1024
NAME = "task.yaml"


@dataclass(frozen=True)
class OpisSpec:
    """``opis`` of task.yaml (docs/architecture.md §11): the threshold-consistency
    settings.

    ``group_column`` is "" when not given (classification groups by class); whether it names
    a test or a solution column is checked with the tables.
    """

    group_column: str = ""
    range: tuple[float, float] = OPIS_RANGE
    min_group_rows: int = OPIS_MIN_GROUP_ROWS

    def as_json(self, *, group_source: str = "") -> dict[str, Any]:
        """The form stored on the Task and in task.json."""
        return {
            "group_column": self.group_column or None,
            "group_source": group_source or None,
            "range": list(self.range),
            "min_group_rows": self.min_group_rows,
        }


@dataclass(frozen=True)
class TaskSpec:
    """``task.yaml`` with defaults applied; a field that failed its check holds its default."""

    slug: str = ""
    title: str = ""
    kind: str = ""
    description: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)
    metric: str = ""
    public_fraction: float = 0.3
    split_seed: int = 0
    opis: OpisSpec = field(default_factory=OpisSpec)
    options: Mapping[str, Any] = field(default_factory=dict)  # the kind's own keys
    about: Mapping[str, Any] = field(default_factory=dict)  # license, citation, rai (if given)
    # docs/organizers/stress.md: the stress families as given (checked against the column types once
    # they are known; None: every family that applies), and the leak probe's mode ("":
    # the import's default).
    stress: Any = None
    leak_probe: str = ""
    slices: tuple[str, ...] = ()  # categorical test columns the champion gate checks


def read_task_spec(folder: Path) -> tuple[TaskSpec, list[str]]:
    """Parse ``folder/task.yaml`` (``yaml.safe_load`` within :mod:`common.boundedyaml`'s size
    and depth bounds); return the spec and its problems."""
    path = folder / NAME
    if not path.is_file():
        return TaskSpec(), [f"{NAME} is missing: the bundle needs a {NAME} at its top level"]
    if path.stat().st_size > MAX_YAML_BYTES:
        return TaskSpec(), [f"{NAME} is larger than {MAX_YAML_BYTES // 1024} KB"]
    try:
        data = boundedyaml.load(path.read_text(encoding="utf-8"), max_chars=MAX_YAML_BYTES)
    except UnicodeDecodeError:
        return TaskSpec(), [f"{NAME} is not UTF-8 text"]
    except yaml.constructor.ConstructorError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        return TaskSpec(), [
            f"{NAME} could not be read{where}: it uses a tag that is not allowed"
            f" ({exc.problem}); only plain YAML values are accepted"
        ]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return TaskSpec(), [f"{NAME} is not valid YAML{where}: {reason}"]
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        return TaskSpec(), [f"{NAME} must be a mapping of keys (slug, title, ...), it is {kind}"]
    return _check(data)


def _kind_options() -> dict[str, str]:
    """Each kind's own task.yaml key -> the kind (e.g. regression's ``tolerance``)."""
    return {key: kind.name for kind in TASK_KINDS.values() for key in kind.options}


def _check(data: dict[Any, Any]) -> tuple[TaskSpec, list[str]]:
    problems: list[str] = []
    kind = data.get("kind")
    known_kind = isinstance(kind, str) and kind in kind_names()
    own = kind_get(kind).options if known_kind else ()
    options = _kind_options()
    for key in data:
        if key in options and key not in own:
            if known_kind:
                problems.append(f"{NAME}: '{key}' applies to {options[key]} tasks only")
        elif key not in KEYS and key not in own:
            allowed = (*KEYS, *own)
            close = difflib.get_close_matches(str(key)[:SLUG_MAX], allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                f"{NAME}: unknown key {quote(key)}{hint}; allowed keys: {', '.join(allowed)}"
            )
    slug = _slug(data.get("slug"), problems)
    title = _text(data, "title", problems, required=True, limit=TITLE_MAX)
    description = _text(data, "description", problems, required=False, limit=DESCRIPTION_MAX)
    if not known_kind:
        problems.append(f"{NAME}: {_unknown_kind(kind)}")
        kind = ""
    spec = TaskSpec(
        slug=slug,
        title=title,
        kind=kind,
        description=description,
        columns=_columns(data.get("columns"), problems),
        metric=_metric(data.get("metric"), kind, problems),
        public_fraction=_fraction(data.get("public_fraction", 0.3), problems),
        split_seed=_seed(data.get("split_seed", 0), problems),
        opis=_opis(data.get("opis"), kind, problems),
        options=kind_get(kind).read_options(data, problems) if kind else {},
        about=read_about(data, problems),
        stress=data.get("stress"),
        leak_probe=_leak_probe(data.get("leak_probe"), problems),
        slices=_slices(data.get("slices"), problems),
    )
    return spec, problems


def _leak_probe(value: object, problems: list[str]) -> str:
    if value is None:
        return ""
    if value not in LEAK_PROBE_MODES:
        problems.append(
            f"{NAME}: leak_probe must be one of {', '.join(LEAK_PROBE_MODES)}, not {quote(value)}"
        )
        return ""
    return str(value)


def _unknown_kind(kind: object) -> str:
    """ "kind must be one of classification, matching, not 'x' (or grouping, for records that
    form entities)": the kinds without a hint lead, as the first two always did."""
    kinds = list(TASK_KINDS.values())
    lead = ", ".join(k.name for k in kinds if not k.hint)
    rest = "; or ".join(f"{k.name}, {k.hint}" for k in kinds if k.hint)
    return f"kind must be one of {lead}, not {quote(kind)}" + (f" (or {rest})" if rest else "")


def _slug(value: object, problems: list[str]) -> str:
    if value is None or value == "":
        problems.append(f"{NAME}: slug is missing (lowercase letters, digits and hyphens)")
        return ""
    if not isinstance(value, str) or not SLUG_RE.match(value) or len(value) > SLUG_MAX:
        problems.append(
            f"{NAME}: slug {quote(value)} is invalid: use lowercase letters, digits and single"
            f" hyphens (like 'bird-species'), at most {SLUG_MAX} characters"
        )
        return ""
    return value


def _text(
    data: dict[Any, Any], key: str, problems: list[str], *, required: bool, limit: int
) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{NAME}: {key} is missing")
        return ""
    if not isinstance(value, str):
        problems.append(f"{NAME}: {key} must be text, not {type(value).__name__}")
        return ""
    if len(value) > limit:
        problems.append(f"{NAME}: {key} is longer than {limit:,} characters")
    return value.strip()


def _columns(value: object, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{NAME}: columns must be a mapping of column name to type")
        return {}
    columns: dict[str, str] = {}
    for name, kind in value.items():
        if name in ("id", "label"):
            problems.append(f"{NAME}: columns: {quote(name)} has a fixed meaning and takes no type")
        elif kind not in COLUMN_TYPES:
            problems.append(
                f"{NAME}: columns: column {quote(name)} has unknown type {quote(kind)};"
                f" use one of {', '.join(COLUMN_TYPES)}"
            )
        else:
            columns[str(name)] = kind
    return columns


def _metric(value: object, kind: str, problems: list[str]) -> str:
    if not kind:
        return ""
    task_kind = kind_get(kind)
    if value is None:
        return task_kind.primary
    if value not in task_kind.selectable:
        problems.append(
            f"{NAME}: metric {quote(value)} is not available for {kind};"
            f" use one of {', '.join(task_kind.selectable)}"
        )
        return task_kind.primary
    return str(value)


def _fraction(value: object, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        problems.append(
            f"{NAME}: public_fraction must be a number strictly between 0 and 1, not {quote(value)}"
        )
        return 0.3
    return float(value)


def _seed(value: object, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{NAME}: split_seed must be a whole number >= 0, not {quote(value)}")
        return 0
    return value


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _opis(value: object, kind: str, problems: list[str]) -> OpisSpec:
    """``opis``: a mapping of group_column, range [lo, hi] and min_group_rows; all optional."""
    if value is None:
        return OpisSpec()
    if not isinstance(value, dict):
        problems.append(
            f"{NAME}: opis must be a mapping with the optional keys {', '.join(OPIS_KEYS)},"
            f" not {type(value).__name__}"
        )
        return OpisSpec()
    _opis_unknown_keys(value, problems)
    group = _opis_group_column(value.get("group_column"), kind, problems)
    lo_hi = _opis_range(value.get("range", list(OPIS_RANGE)), problems)
    rows = _opis_min_group_rows(value.get("min_group_rows", OPIS_MIN_GROUP_ROWS), problems)
    return OpisSpec(group_column=group, range=lo_hi, min_group_rows=rows)


def _opis_unknown_keys(value: dict[Any, Any], problems: list[str]) -> None:
    """Each key of ``opis`` that is not one of ``OPIS_KEYS``, with a did-you-mean."""
    for key in value:
        if key not in OPIS_KEYS:
            close = difflib.get_close_matches(str(key)[:SLUG_MAX], OPIS_KEYS, n=1)
            hint = f" (did you mean 'opis.{close[0]}'?)" if close else ""
            problems.append(
                f"{NAME}: unknown key {quote(f'opis.{key}')}{hint}; allowed keys: "
                + ", ".join(f"opis.{k}" for k in OPIS_KEYS)
            )


def _opis_group_column(group: object, kind: str, problems: list[str]) -> str:
    """``opis.group_column``: a column name other than id and label, on a kind that takes
    one (not checked when the kind itself is unknown); "" when absent or refused."""
    if group is None:
        return ""
    if not isinstance(group, str) or not group.strip():
        problems.append(f"{NAME}: opis.group_column must be a column name, not {quote(group)}")
        return ""
    if group in ("id", "label"):
        problems.append(
            f"{NAME}: opis.group_column cannot be '{group}'; name a test or solution column"
            " that groups the rows"
        )
        return ""
    if kind and not kind_get(kind).opis_group_column:
        takers = [k.name for k in TASK_KINDS.values() if k.opis_group_column]
        problems.append(
            f"{NAME}: opis.group_column applies to {' and '.join(takers)} tasks only"
            f" ({kind} tasks{kind_get(kind).opis_note})"
        )
        return ""
    return group


def _opis_range(bounds: object, problems: list[str]) -> tuple[float, float]:
    """``opis.range``: two numbers with 0 <= lo < hi <= 1; the default when refused."""
    if (
        not isinstance(bounds, list | tuple)
        or len(bounds) != 2
        or not all(_number(b) for b in bounds)
        or not 0 <= bounds[0] < bounds[1] <= 1
    ):
        problems.append(
            f"{NAME}: opis.range must be two numbers [lo, hi] with 0 <= lo < hi <= 1,"
            f" not {quote(bounds)}"
        )
        return OPIS_RANGE
    return (float(bounds[0]), float(bounds[1]))


def _opis_min_group_rows(rows: object, problems: list[str]) -> int:
    """``opis.min_group_rows``: a whole number >= 1; the default when refused."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        problems.append(
            f"{NAME}: opis.min_group_rows must be a whole number >= 1, not {quote(rows)}"
        )
        return OPIS_MIN_GROUP_ROWS
    return rows


def _slices(value: object, problems: list[str]) -> tuple[str, ...]:
    """``slices``: a list of categorical test columns (checked against the tables later),
    each named once; the champion gate requires every slice of them to break little."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{NAME}: slices must be a list of column names, not {quote(value)}")
        return ()
    names = [v.strip() for v in value]
    reserved = [n for n in names if n in ("id", "label")]
    if reserved:
        problems.append(
            f"{NAME}: slices cannot name '{reserved[0]}'; name categorical test columns"
        )
        return ()
    if len(set(names)) != len(names):
        problems.append(f"{NAME}: slices names a column twice: {quote(names)}")
        return ()
    if len(names) > MAX_SLICE_COLUMNS:
        problems.append(
            f"{NAME}: slices names {len(names)} columns; at most {MAX_SLICE_COLUMNS} are allowed"
        )
        return ()
    return tuple(names)
