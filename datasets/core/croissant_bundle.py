"""A Croissant dataset turned into a task bundle (``import_task --croissant``), free of Django.

:func:`croissant_bundle` reads a Croissant JSON-LD (a local file, or a URL) with
``mlcroissant`` and writes the bundle of docs/developers/data-contract.md as a folder that the
import then checks like any other: ``task.yaml``, ``train.parquet``, ``test.parquet``,
``solution.parquet`` and ``images/`` (rows streamed to Parquet a batch at a time). How
fields map to the task's schema (docs/participants/formats.md):

- record sets ``train`` and ``test`` (by ``@id`` or name); the record set's ``key`` (or a
  field named ``id``) is the id, numbered ``train-<n>`` / ``test-<n>`` when there is none;
- the label is the field typed ``cr:Label`` (or named ``label``); train must have one; the
  test rows' labels come from their own label field, else from ``solution`` (a file with
  ``id,label``), and make the private solution;
- each other field's type: ``tc:role`` when the platform wrote it; else numbers
  (``sc:Float``, ``sc:Integer``...) are ``numeric``, ``sc:Boolean`` ``categorical``,
  ``sc:ImageObject`` ``image`` (image content is written to ``images/``; a path is looked up
  in the dataset's ``images.zip``), text and dates are left for the import to infer (text or
  categorical); any other type is a problem naming the field;
- the kind: ``kind`` given, else ``tc:kind``, else inferred from the label (``sc:Float``:
  regression; 0/1 with ``left_``/``right_`` pairs: matching; else classification);
- card: name, description, ``license``, ``citeAs`` and the ``rai:`` notes go to task.yaml,
  and the platform's own terms (metric, split settings, kind options) when present; the
  name made distinct from the other titles of the destination track (:func:`task_title`).

Where the files are read from is :mod:`datasets.core.croissant_source`'s; how the records
are written, :mod:`datasets.core.croissant_write`'s. Anything that cannot be mapped raises
:class:`CroissantUnmappable` with one line per problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datasets.core.about import RAI_PROPERTIES
from datasets.core.croissant import TERMS
from datasets.core.croissant_source import (
    CroissantUnmappable,
    download_cache,
    listed,
    load,
    local_files,
    open_dataset,
    text_of,
)
from datasets.core.croissant_write import FieldPlan, Images, PartRead, copy_solution, write_part
from datasets.core.spec import SLUG_MAX, SLUG_RE, TITLE_MAX

__all__ = ["CroissantBundle", "CroissantUnmappable", "croissant_bundle", "task_title"]

CR = "http://mlcommons.org/croissant/"
WHOLE = {"Integer", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
NUMERIC = {"Float", "Number", "float16", "float32", "float64", *WHOLE}
TEXT = {"Text", "URL", "Date", "DateTime", "Time"}
ROLES = ("text", "numeric", "categorical", "image")
RAI_KEYS = {prop: key for key, prop in RAI_PROPERTIES.items()}


@dataclass
class _Plan:
    train: list[FieldPlan] = field(default_factory=list)
    test: list[FieldPlan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CroissantBundle:
    """A bundle written from a Croissant dataset: its folder, and what the import should
    tell the organizer (a title made distinct)."""

    folder: Path
    warnings: tuple[str, ...] = ()


def croissant_bundle(
    source: str,
    out_dir: Path,
    *,
    slug: str | None = None,
    kind: str | None = None,
    solution: Path | None = None,
    title: str | None = None,
    track_titles: Mapping[str, str] | None = None,
) -> CroissantBundle:
    """Write the bundle of the Croissant dataset at ``source`` (a path or an http(s) URL) in
    the folder ``out_dir/bundle``. Rows are streamed to Parquet a batch at a time.
    ``title`` replaces the dataset's name; ``track_titles`` (title -> slug of the tasks
    already in the destination track) keeps it distinct (:func:`task_title`). Raises
    :class:`CroissantUnmappable`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc, folder, prefix = load(source)
    if not isinstance(doc, dict):
        raise CroissantUnmappable([f"{source}: the JSON-LD is not an object"])
    given = " ".join((title or "").split())[:TITLE_MAX]
    name = given or _name(doc)
    slug = slug or _slug(doc, name)
    name, warnings = task_title(name, slug=slug, given=bool(given), track_titles=track_titles)
    mapping, problems = local_files(doc, folder, prefix)
    if problems:
        raise CroissantUnmappable(problems)
    record_sets = _record_sets(doc)
    plan = _plan(record_sets)
    if not plan.problems and solution is None and not any(p.role == "label" for p in plan.test):
        plan.problems.append(
            "record set 'test' has no labels: give the test rows' labels as a file with id and"
            " label (--solution FILE), or type a test field cr:Label"
        )
    if plan.problems:
        raise CroissantUnmappable(plan.problems)
    bundle = out_dir / "bundle"
    (bundle / "images").mkdir(parents=True)
    with download_cache(out_dir / "downloads"):
        dataset = open_dataset(doc, mapping, source)
        images = Images(bundle / "images", doc, mapping, out_dir)
        train = write_part(dataset, record_sets["train"], plan.train, images, bundle)
        write_part(
            dataset, record_sets["test"], plan.test, images, bundle, to_solution=solution is None
        )
    if solution is not None:
        copy_solution(solution, bundle / "solution.parquet")
    spec = _task_yaml(
        doc, slug=slug, title=name, kind=kind or _kind(doc, train, plan.train), plan=plan
    )
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    (bundle / "task.yaml").write_text(text, encoding="utf-8")
    if not any((bundle / "images").iterdir()):
        (bundle / "images").rmdir()
    return CroissantBundle(folder=bundle, warnings=warnings)


def task_title(
    name: str, *, slug: str, given: bool = False, track_titles: Mapping[str, str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """The imported task's title and what to tell the organizer of it. A track's board names
    its columns by the tasks' titles, so the title must differ from every other task's in
    the track (``track_titles``: title -> slug; compared without case and extra spaces). A
    dataset's ``name`` that another task of the track has (an export imported again beside
    its original) becomes ``"<name> (<slug>)"``, with a warning; a title the organizer gave
    (``given``) that is taken is a problem (:class:`CroissantUnmappable`)."""
    taken = {_title_key(t): s for t, s in (track_titles or {}).items()}
    owner = taken.get(_title_key(name))
    if owner is None:
        return name, ()
    if given:
        raise CroissantUnmappable(
            [f"the title {name!r} is already task '{owner}''s in this track (a track's board "
             "names its columns by title): choose another --title"]
        )  # fmt: skip
    suffix = f" ({slug})"
    distinct = name[: TITLE_MAX - len(suffix)].rstrip() + suffix
    if _title_key(distinct) in taken:
        raise CroissantUnmappable(
            [f"the titles {name!r} and {distinct!r} are taken in this track: give --title"]
        )
    return distinct, (
        f"the dataset's name {name!r} is already task '{owner}''s title in this track: "
        f"imported as {distinct!r} (--title chooses another)",
    )


def _title_key(title: str) -> str:
    return " ".join(title.split()).casefold()


# --- mapping ---------------------------------------------------------------------------------


def _record_sets(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record_set in listed(doc.get("recordSet")):
        if not isinstance(record_set, dict):
            continue
        for label in (record_set.get("@id"), text_of(record_set.get("name"))):
            if isinstance(label, str) and label.lower() in ("train", "test"):
                found.setdefault(label.lower(), record_set)
    return found


def _type_names(item: dict[str, Any]) -> list[str]:
    """A field's data types by short name: ``Float`` for sc:Float, ``cr:Label`` for a
    Croissant type."""
    names = []
    for data_type in listed(item.get("dataType")):
        text = data_type.get("@id", "") if isinstance(data_type, dict) else str(data_type)
        if text.startswith(("cr:", CR)):
            names.append("cr:" + text.rsplit("/", 1)[-1].split(":")[-1])
        else:
            names.append(text.split(":")[-1].rsplit("/", 1)[-1])
    return names


def _plan(record_sets: dict[str, dict[str, Any]]) -> _Plan:
    plan = _Plan()
    missing = [n for n in ("train", "test") if n not in record_sets]
    if missing:
        plan.problems.append(
            "the Croissant dataset needs record sets named 'train' and 'test' (missing: "
            + ", ".join(missing)
            + ")"
        )
        return plan
    for part in ("train", "test"):
        fields, problems = _fields(record_sets[part], part)
        setattr(plan, part, fields)
        plan.problems += problems
    if not plan.problems and not any(f.role == "label" for f in plan.train):
        plan.problems.append(
            "record set 'train' has no label: type one field cr:Label (or name it 'label')"
        )
    return plan


def _fields(record_set: dict[str, Any], part: str) -> tuple[list[FieldPlan], list[str]]:
    problems: list[str] = []
    items = [f for f in listed(record_set.get("field")) if isinstance(f, dict)]
    keys = [k.get("@id") if isinstance(k, dict) else k for k in listed(record_set.get("key"))]
    names = [text_of(f.get("name")) or str(f.get("@id", "")).rsplit("/", 1)[-1] for f in items]
    labelled = _label_indexes(items, names)
    id_index = _id_index(items, names, keys)
    if len(labelled) > 1:
        problems.append(
            f"record set '{part}' has {len(labelled)} label fields"
            f" ({', '.join(names[i] for i in labelled)}); a task has one"
        )
    plans = []
    for index, (item, name) in enumerate(zip(items, names, strict=True)):
        special = "id" if index == id_index else "label" if index in labelled[:1] else ""
        plan, problem = _field_plan(item, name, part, special)
        if plan is not None:
            plans.append(plan)
        else:
            problems.append(problem)
    return plans, problems


def _label_indexes(items: list[dict[str, Any]], names: list[str]) -> list[int]:
    """The fields typed cr:Label, else those named ``label``."""
    labelled = [i for i, f in enumerate(items) if "cr:Label" in _type_names(f)]
    return labelled or [i for i, n in enumerate(names) if n == "label"]


def _id_index(items: list[dict[str, Any]], names: list[str], keys: list[Any]) -> int | None:
    """The field that is the record set's one key, else the one named ``id``, else None."""
    if len(keys) == 1:
        found = next((i for i, f in enumerate(items) if f.get("@id") in keys), None)
        if found is not None:
            return found
    return next((i for i, n in enumerate(names) if n == "id"), None)


def _field_plan(
    item: dict[str, Any], name: str, part: str, special: str
) -> tuple[FieldPlan | None, str]:
    """The column of one field, or None and the problem with it. ``special`` is ``id`` for
    the record set's key, ``label`` for its label field, else empty."""
    if special == "id":
        return FieldPlan(str(item.get("@id")), "id", "id"), ""
    if special == "label":
        return FieldPlan(str(item.get("@id")), "label", "label", dtype=_label_dtype(item)), ""
    if name in ("id", "label"):
        return None, (
            f"field '{item.get('@id')}' of record set '{part}' is named '{name}' but is not"
            f" the record set's {'key' if name == 'id' else 'cr:Label field'}"
        )
    role, image_content, problem = _role(item, name, part)
    if problem:
        return None, problem
    dtype = "float64" if role == "numeric" else "string"
    return FieldPlan(str(item.get("@id")), name, role, image_content, dtype), ""


def _label_dtype(item: dict[str, Any]) -> str:
    """The label's stored type: whole numbers (matching's 0/1), numbers (regression), text."""
    for data_type in _type_names(item):
        if data_type in WHOLE:
            return "int64"
        if data_type in NUMERIC:
            return "float64"
        if data_type in TEXT or data_type == "Boolean":
            return "string"
    return "string"


def _role(item: dict[str, Any], name: str, part: str) -> tuple[str, bool, str]:
    """(role, image content?, problem) of a feature field."""
    where = f"field '{name}' of record set '{part}'"
    if item.get("subField") or item.get("isArray") or item.get("repeated"):
        return "", False, f"{where} holds nested or repeated values: a column holds one value"
    types = _type_names(item)
    declared = item.get("tc:role") or item.get(f"{TERMS}role")
    if declared in ROLES:
        return str(declared), False, ""
    if "ImageObject" in types:
        # the first atomic type decides what mlcroissant reads: text is a path, else pixels
        atomic = next((t for t in types if t in TEXT or t in NUMERIC), None)
        return "image", atomic is None, ""
    for data_type in types:
        if data_type in NUMERIC:
            return "numeric", False, ""
        if data_type == "Boolean":
            return "categorical", False, ""
        if data_type in TEXT:
            return "", False, ""
    shown = ", ".join(types) or "none"
    return "", False, (
        f"{where} has the data type {shown}, which maps to no column type (text, numeric,"
        " categorical, image)"
    )


def _kind(doc: dict[str, Any], train: PartRead, plans: list[FieldPlan]) -> str:
    declared = doc.get("tc:kind") or doc.get(f"{TERMS}kind")
    if isinstance(declared, str) and declared:
        return declared
    label = next((p for p in plans if p.role == "label"), None)
    if label is not None and label.dtype == "float64":
        return "regression"
    names = [p.name for p in plans if p.role not in ("id", "label")]
    pairs = bool(names) and all(n.startswith(("left_", "right_")) for n in names)
    values = train.label_values - {None}
    if label is not None and label.dtype == "int64" and pairs and values <= {0, 1}:
        return "matching"
    return "classification"


def _task_yaml(
    doc: dict[str, Any], *, slug: str | None, kind: str, plan: _Plan, title: str | None = None
) -> dict[str, Any]:
    title = title or _name(doc)
    spec: dict[str, Any] = {
        "slug": slug or _slug(doc, title),
        "title": title,
        "kind": kind,
        "description": text_of(doc.get("description")),
    }
    declared = {p.name: p.role for p in plan.train if p.role in ROLES}
    if declared:
        spec["columns"] = declared
    spec.update(_platform_terms(doc))
    options = doc.get("tc:kindOptions")
    if isinstance(options, dict):
        spec.update({k: v for k, v in options.items() if k not in spec})
    spec.update(_card_terms(doc))
    return spec


def _platform_terms(doc: dict[str, Any]) -> dict[str, Any]:
    """The task.yaml settings the platform's own export wrote: metric and split."""
    terms: dict[str, Any] = {}
    metric = doc.get("tc:primaryMetric")
    if isinstance(metric, str) and metric:
        terms["metric"] = metric
    for key, term in (("public_fraction", "tc:publicFraction"), ("split_seed", "tc:splitSeed")):
        if term in doc:
            terms[key] = doc[term]
    return terms


def _card_terms(doc: dict[str, Any]) -> dict[str, Any]:
    """The card's licence, citation and responsible-AI notes, where given as text."""
    terms: dict[str, Any] = {}
    license_ = _license(doc.get("license"))
    if license_:
        terms["license"] = license_
    cite = doc.get("citeAs")
    if isinstance(cite, str) and cite:
        terms["citation"] = cite
    rai = {RAI_KEYS[k]: v for k, v in doc.items() if k in RAI_KEYS and isinstance(v, str) and v}
    if rai:
        terms["rai"] = rai
    return terms


def _license(value: Any) -> str:
    """The licence's URL or name: of the first one when several are listed; else empty."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("url") or value.get("name")
    return value if isinstance(value, str) else ""


def _name(doc: dict[str, Any]) -> str:
    """The dataset's name as a task title."""
    return (text_of(doc.get("name")) or "Imported dataset").strip()[:TITLE_MAX]


def _slug(doc: dict[str, Any], title: str) -> str:
    declared = doc.get("tc:slug")
    if isinstance(declared, str) and SLUG_RE.match(declared):
        return declared
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:SLUG_MAX].strip("-")
    return slug or "imported-dataset"
