"""A Croissant dataset turned into a task bundle (``import_task --croissant``), free of Django.

:func:`croissant_bundle` reads a Croissant JSON-LD (a local file, or a URL) with
``mlcroissant`` and writes the bundle of docs/data-contract.md as a folder that the
import then checks like any other: ``task.yaml``, ``train.parquet``, ``test.parquet``,
``solution.parquet`` and ``images/`` (rows streamed to Parquet a batch at a time). How
fields map to the task's schema (docs/formats.md):

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
  and the platform's own terms (metric, split settings, kind options) when present.

A file is read where the JSON-LD says, except that a file of the same name next to a local
JSON-LD file (``train.parquet``, or ``<prefix>train.parquet`` for ``<prefix>croissant.json``)
is used instead of being downloaded; a relative ``contentUrl`` must stay inside that folder.
File sets and files inside archives are refused (name them as files). Anything that cannot
be mapped raises :class:`CroissantUnmappable` with one line per problem.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from common.archives import zip_member_problem
from datasets.core.about import RAI_PROPERTIES
from datasets.core.bundle import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_UNCOMPRESSED_BYTES
from datasets.core.croissant import TERMS
from datasets.core.spec import SLUG_MAX, SLUG_RE, TITLE_MAX
from datasets.core.validate import DEFAULT_MAX_ROWS

MAX_JSONLD_BYTES = 16 * 1024 * 1024
MAX_ROWS = DEFAULT_MAX_ROWS  # per record set, as a bundle's files
MAX_IMAGES_BYTES = DEFAULT_MAX_UNCOMPRESSED_BYTES
MAX_IMAGES = DEFAULT_MAX_MEMBERS
BATCH_ROWS = 65_536
TIMEOUT_SECONDS = 60
CR = "http://mlcommons.org/croissant/"
SC = ("https://schema.org/", "http://schema.org/", "sc:")
WHOLE = {"Integer", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
NUMERIC = {"Float", "Number", "float16", "float32", "float64", *WHOLE}
TEXT = {"Text", "URL", "Date", "DateTime", "Time"}
ROLES = ("text", "numeric", "categorical", "image")
RAI_KEYS = {prop: key for key, prop in RAI_PROPERTIES.items()}


class CroissantUnmappable(Exception):
    """The Croissant dataset cannot become a bundle; ``problems`` says why, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class FieldPlan:
    """How one Croissant field becomes a bundle column."""

    id: str
    name: str
    role: str  # id, label, text, numeric, categorical, image, or "" (the import infers)
    image_content: bool = False  # the values are images, not paths
    dtype: str = "string"  # as the bundle's Parquet file stores it: string, float64, int64


@dataclass
class _Plan:
    train: list[FieldPlan] = field(default_factory=list)
    test: list[FieldPlan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def croissant_bundle(
    source: str,
    out_dir: Path,
    *,
    slug: str | None = None,
    kind: str | None = None,
    solution: Path | None = None,
) -> Path:
    """Write the bundle of the Croissant dataset at ``source`` (a path or an http(s) URL) in
    the folder ``out_dir/bundle`` and return it. Rows are streamed to Parquet a batch at a
    time. Raises :class:`CroissantUnmappable`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc, folder, prefix = _load(source)
    if not isinstance(doc, dict):
        raise CroissantUnmappable([f"{source}: the JSON-LD is not an object"])
    mapping, problems = _local_files(doc, folder, prefix)
    if problems:
        raise CroissantUnmappable(problems)
    with _download_cache(out_dir / "downloads"):
        dataset = _dataset(doc, mapping, source)
        record_sets = _record_sets(doc)
        plan = _plan(record_sets, kind=kind)
        if plan.problems:
            raise CroissantUnmappable(plan.problems)
        bundle = out_dir / "bundle"
        (bundle / "images").mkdir(parents=True)
        images = _Images(bundle / "images", doc, mapping, out_dir)
        truth = _SOLUTION_FROM_TEST if solution is None else None
        train = _write_part(dataset, record_sets["train"], plan.train, images, bundle, None)
        _write_part(dataset, record_sets["test"], plan.test, images, bundle, truth)
        if solution is not None:
            _copy_solution(solution, bundle / "solution.parquet")
        elif not any(p.role == "label" for p in plan.test):
            raise CroissantUnmappable(
                [
                    "record set 'test' has no labels: give the test rows' labels as a file with"
                    " id and label (--solution FILE), or type a test field cr:Label"
                ]
            )
        spec = _task_yaml(doc, slug=slug, kind=kind or _kind(doc, train, plan.train), plan=plan)
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        (bundle / "task.yaml").write_text(text, encoding="utf-8")
        if not any((bundle / "images").iterdir()):
            (bundle / "images").rmdir()
    return bundle


# --- loading ---------------------------------------------------------------------------------


def _basic_auth() -> tuple[str, str] | None:
    """The credentials mlcroissant sends (``CROISSANT_BASIC_AUTH_USERNAME``/``_PASSWORD``)."""
    username = os.environ.get("CROISSANT_BASIC_AUTH_USERNAME")
    password = os.environ.get("CROISSANT_BASIC_AUTH_PASSWORD")
    return None if username is None or password is None else (username, password)


def _fetch(url: str, limit: int) -> bytes:
    """``url``'s body, at most ``limit`` bytes; CroissantUnmappable on any failure."""
    import requests

    try:
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS, auth=_basic_auth()) as got:
            if got.status_code != 200:
                raise CroissantUnmappable([f"{url}: the server answered {got.status_code}"])
            body = bytearray()
            for chunk in got.iter_content(1024 * 1024):
                body += chunk
                if len(body) > limit:
                    raise CroissantUnmappable([f"{url}: larger than {limit:,} bytes"])
            return bytes(body)
    except requests.RequestException as exc:
        raise CroissantUnmappable([f"{url} could not be fetched: {_first_line(exc)}"]) from exc


def _load(source: str) -> tuple[Any, Path | None, str]:
    """The JSON-LD, the folder of a local file (None for a URL) and the file name's prefix
    before ``croissant.json`` (``febrl-`` of ``febrl-croissant.json``)."""
    if re.match(r"^https?://", source):
        raw, folder, prefix = _fetch(source, MAX_JSONLD_BYTES), None, ""
    else:
        path = Path(source)
        if not path.is_file():
            raise CroissantUnmappable([f"{source}: no such file"])
        if path.stat().st_size > MAX_JSONLD_BYTES:
            raise CroissantUnmappable([f"{source}: larger than {MAX_JSONLD_BYTES:,} bytes"])
        raw, folder = path.read_bytes(), path.resolve().parent
        prefix = path.name[: -len("croissant.json")] if path.name.endswith("croissant.json") else ""
    try:
        return json.loads(raw), folder, prefix
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CroissantUnmappable([f"{source} is not JSON: {exc}"]) from exc


def _local_files(
    doc: dict[str, Any], folder: Path | None, prefix: str
) -> tuple[dict[str, Path], list[str]]:
    """FileObject id -> local file to read instead of downloading, and the refusals: file
    sets, files in archives, and relative or local paths outside the JSON-LD's folder."""
    mapping: dict[str, Path] = {}
    problems: list[str] = []
    distribution = doc.get("distribution") or []
    if isinstance(distribution, dict):
        distribution = [distribution]
    for item in distribution:
        if not isinstance(item, dict):
            continue
        types = _list(item.get("@type"))
        name = str(item.get("@id") or item.get("name") or "")
        if any(str(t).endswith("FileSet") for t in types):
            problems.append(
                f"distribution '{name}': file sets are not supported; describe each table as a"
                " FileObject"
            )
            continue
        if item.get("containedIn"):
            problems.append(
                f"distribution '{name}': files inside archives are not supported; describe each"
                " table as a FileObject of its own"
            )
            continue
        url = str(item.get("contentUrl") or "")
        local = _beside(folder, prefix, str(item.get("name") or ""), name)
        if local is not None:
            mapping[name] = local
        elif not re.match(r"^https?://", url):
            inside = _inside(folder, url)
            if inside is None:
                problems.append(
                    f"distribution '{name}': contentUrl {url!r} is neither an http(s) URL nor a"
                    " file inside the JSON-LD's folder"
                )
            else:
                mapping[name] = inside
    return mapping, problems


def _beside(folder: Path | None, prefix: str, *names: str) -> Path | None:
    if folder is None:
        return None
    for name in names:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            continue
        for candidate in (folder / f"{prefix}{name}", folder / name):
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
    return None


def _inside(folder: Path | None, url: str) -> Path | None:
    if folder is None or not url or url.startswith("/") or "\\" in url:
        return None
    if ".." in PurePosixPath(url).parts or ":" in url.split("/", 1)[0]:
        return None
    target = (folder / url).resolve()
    return target if target.is_relative_to(folder) and target.is_file() else None


@contextlib.contextmanager
def _download_cache(folder: Path) -> Iterator[None]:
    """mlcroissant's downloads go to ``folder`` for this import (its own cache is keyed by
    URL: a file changed on the server would be read from an old copy), and it keeps quiet:
    its validation warnings (a missing licence...) and download progress bars are no
    problem of the import, whose output is the command's."""
    from mlcroissant._src.core import constants

    saved = constants.DOWNLOAD_PATH, constants.EXTRACT_PATH
    constants.DOWNLOAD_PATH, constants.EXTRACT_PATH = folder / "download", folder / "extract"
    # mlcroissant logs through absl to the root logger (INFO "Setting up generation...",
    # WARNING for each recommended property missing): not the import's words
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        constants.DOWNLOAD_PATH, constants.EXTRACT_PATH = saved
        logging.disable(previous)


def _dataset(doc: dict[str, Any], mapping: Mapping[str, Path], source: str) -> Any:
    import mlcroissant as mlc

    try:
        return mlc.Dataset(jsonld=doc, mapping={k: str(v) for k, v in mapping.items()})
    except Exception as exc:  # mlcroissant raises ValidationError, ValueError...: a foreign file
        lines = [line.strip(" -") for line in str(exc).splitlines()[1:] if line.strip()]
        raise CroissantUnmappable(
            [f"{source} is not valid Croissant: {line}" for line in lines]
            or [f"{source} is not valid Croissant: {_first_line(exc)}"]
        ) from exc


# --- mapping ---------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A plain or language-tagged (Croissant 1.1) text."""
    if isinstance(value, dict):
        value = value.get("en") or value.get("@value") or next(iter(value.values()), "")
    return value if isinstance(value, str) else ""


def _record_sets(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record_set in _list(doc.get("recordSet")):
        if not isinstance(record_set, dict):
            continue
        for label in (record_set.get("@id"), _text(record_set.get("name"))):
            if isinstance(label, str) and label.lower() in ("train", "test"):
                found.setdefault(label.lower(), record_set)
    return found


def _type_names(item: dict[str, Any]) -> list[str]:
    """A field's data types by short name: ``Float`` for sc:Float, ``cr:Label`` for a
    Croissant type."""
    names = []
    for data_type in _list(item.get("dataType")):
        text = data_type.get("@id", "") if isinstance(data_type, dict) else str(data_type)
        if text.startswith(("cr:", CR)):
            names.append("cr:" + text.rsplit("/", 1)[-1].split(":")[-1])
        else:
            names.append(text.split(":")[-1].rsplit("/", 1)[-1])
    return names


def _plan(record_sets: dict[str, dict[str, Any]], *, kind: str | None) -> _Plan:
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
    items = [f for f in _list(record_set.get("field")) if isinstance(f, dict)]
    keys = [k.get("@id") if isinstance(k, dict) else k for k in _list(record_set.get("key"))]
    names = [_text(f.get("name")) or str(f.get("@id", "")).rsplit("/", 1)[-1] for f in items]
    labelled = [i for i, f in enumerate(items) if "cr:Label" in _type_names(f)]
    if not labelled:
        labelled = [i for i, n in enumerate(names) if n == "label"]
    id_index = next((i for i, f in enumerate(items) if len(keys) == 1 and f.get("@id") in keys),
                    None)  # fmt: skip
    if id_index is None:
        id_index = next((i for i, n in enumerate(names) if n == "id"), None)
    if len(labelled) > 1:
        problems.append(
            f"record set '{part}' has {len(labelled)} label fields"
            f" ({', '.join(names[i] for i in labelled)}); a task has one"
        )
    plans = []
    for index, (item, name) in enumerate(zip(items, names, strict=True)):
        if index == id_index:
            plans.append(FieldPlan(str(item.get("@id")), "id", "id"))
            continue
        if index in labelled[:1]:
            dtype = _label_dtype(item)
            plans.append(FieldPlan(str(item.get("@id")), "label", "label", dtype=dtype))
            continue
        if name in ("id", "label"):
            problems.append(
                f"field '{item.get('@id')}' of record set '{part}' is named '{name}' but is not"
                f" the record set's {'key' if name == 'id' else 'cr:Label field'}"
            )
            continue
        role, image_content, problem = _role(item, name, part)
        if problem:
            problems.append(problem)
        else:
            dtype = "float64" if role == "numeric" else "string"
            plans.append(FieldPlan(str(item.get("@id")), name, role, image_content, dtype))
    return plans, problems


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


# --- reading ---------------------------------------------------------------------------------


class _Images:
    """Where image columns' images go: the bundle's ``images/`` folder."""

    def __init__(self, folder: Path, doc: dict, mapping: Mapping[str, Path], work: Path) -> None:
        self.folder, self.doc, self.mapping, self.work = folder, doc, mapping, work
        self.copied = False

    def content(self, part: str, row: int, column: str, image: Any) -> str:
        """Write image content (a PIL image or encoded bytes) as PNG; its path."""
        from PIL import Image

        path = f"{part}/{row}-{re.sub(r'[^A-Za-z0-9_.-]', '_', column)}.png"
        try:
            if isinstance(image, bytes):
                image = Image.open(io.BytesIO(image))
            target = self.folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            image.save(target, format="PNG")
        except (OSError, ValueError, AttributeError, Image.DecompressionBombError) as exc:
            raise CroissantUnmappable(
                [f"record set '{part}', row {row}: the image of '{column}' cannot be read: {exc}"]
            ) from exc
        return path

    def paths(self) -> None:
        """Image columns hold paths: extract the dataset's ``images.zip`` into ``images/``
        (every member checked as a bundle's are, within the bundle's size budget)."""
        if self.copied:
            return
        self.copied = True
        archive = self._archive()
        if archive is None:
            raise CroissantUnmappable(
                ["image columns hold paths, but the dataset has no images.zip to read them from"]
            )
        budget = MAX_IMAGES_BYTES
        try:
            with zipfile.ZipFile(archive) as images:
                members = [i for i in images.infolist() if not i.is_dir()]
                if len(members) > MAX_IMAGES:
                    raise CroissantUnmappable([f"images.zip has more than {MAX_IMAGES:,} files"])
                for info in members:
                    problem = zip_member_problem(info)
                    if problem:
                        raise CroissantUnmappable(
                            [f"images.zip: member {info.filename!r} has {problem}"]
                        )
                    target = self.folder / info.filename
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with images.open(info) as member, target.open("wb") as out:
                        while chunk := member.read(1024 * 1024):
                            budget -= len(chunk)
                            if budget < 0:
                                raise CroissantUnmappable(
                                    [f"images.zip holds more than {MAX_IMAGES_BYTES:,} bytes"]
                                )
                            out.write(chunk)
        except zipfile.BadZipFile as exc:
            raise CroissantUnmappable([f"images.zip is not a zip archive: {exc}"]) from exc

    def _archive(self) -> Path | None:
        for item in _list(self.doc.get("distribution")):
            if not isinstance(item, dict):
                continue
            name = str(item.get("@id") or item.get("name") or "")
            if not name.endswith(".zip"):
                continue
            if name in self.mapping:
                return self.mapping[name]
            url = str(item.get("contentUrl") or "")
            if re.match(r"^https?://", url):
                path = self.work / "images.zip"
                path.write_bytes(_fetch(url, MAX_IMAGES_BYTES))
                return path
        return None


_SOLUTION_FROM_TEST = object()  # the test record set's labels make the solution


class _Parquet:
    """One Parquet file written a batch at a time with a fixed schema."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.writer: pq.ParquetWriter | None = None

    def add(self, row: Mapping[str, Any]) -> None:
        for name, values in self.columns.items():
            values.append(row.get(name))
        if len(self.columns[self.schema.names[0]]) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        arrays = []
        for field_ in self.schema:
            values = self.columns[field_.name]
            try:
                arrays.append(pa.array(values, type=field_.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                shown = next((v for v in values if not _fits(v, field_.type)), None)
                raise CroissantUnmappable(
                    [f"{self.path.stem}: column '{field_.name}' holds {shown!r}, not"
                     f" {_TYPE_WORDS.get(str(field_.type), str(field_.type))}"]
                ) from exc
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.columns = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


_TYPE_WORDS = {"double": "a number", "int64": "a whole number", "string": "text"}


def _fits(value: Any, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([value], type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False
    return True


def _arrow_type(plan: FieldPlan) -> pa.DataType:
    return {"float64": pa.float64(), "int64": pa.int64()}.get(plan.dtype, pa.string())


def _value(value: Any, plan: FieldPlan) -> Any:
    """A record's value as the column stores it: text as str, numbers as numbers."""
    value = _plain(value)
    if value is None or plan.dtype in ("float64", "int64"):
        if plan.dtype == "float64" and isinstance(value, bool):
            return float(value)
        return value
    return value if isinstance(value, str) else str(value)


@dataclass
class PartRead:
    """What a written part tells the kind's inference: the label's type and a few values."""

    rows: int = 0
    label_values: set[Any] = field(default_factory=set)


def _write_part(
    dataset: Any,
    record_set: dict[str, Any],
    plans: list[FieldPlan],
    images: _Images,
    bundle: Path,
    truth: object | None,
) -> PartRead:
    """Stream the record set's rows into ``<part>.parquet`` (ids numbered when it has none);
    with ``truth``, the test labels go to ``solution.parquet`` instead."""
    part = str(record_set.get("@id") or _text(record_set.get("name"))).lower()
    name = "train" if part == "train" else "test"
    has_id = any(p.role == "id" for p in plans)
    label = next((p for p in plans if p.role == "label"), None)
    columns = [p for p in plans if not (name == "test" and p.role == "label")]
    if not has_id:
        columns = [FieldPlan("", "id", "id"), *columns]
    table = _Parquet(
        bundle / f"{name}.parquet",
        pa.schema([(p.name, _arrow_type(p)) for p in columns]),
    )
    solution = None
    if truth is not None and name == "test" and label is not None:
        solution = _Parquet(
            bundle / "solution.parquet",
            pa.schema([("id", pa.string()), ("label", _arrow_type(label))]),
        )
    read = PartRead()
    try:
        for row, record in enumerate(dataset.records(part)):
            if row >= MAX_ROWS:
                raise CroissantUnmappable(
                    [f"record set '{part}' has more than {MAX_ROWS:,} rows (a bundle's limit)"]
                )
            values = {"id": f"{name}-{row}"} if not has_id else {}
            for plan in plans:
                value = _value(record.get(plan.id), plan) if plan.id else None
                if plan.role == "image" and value is not None:
                    if plan.image_content:
                        value = images.content(name, row, plan.name, _plain(record.get(plan.id)))
                    else:
                        images.paths()
                values[plan.name] = value
            table.add(values)
            if solution is not None:
                solution.add({"id": values["id"], "label": values.get("label")})
            if label is not None and len(read.label_values) < 3:
                read.label_values.add(values.get("label"))
            read.rows = row + 1
        table.close()
        if solution is not None:
            solution.close()
    except CroissantUnmappable:
        raise
    except Exception as exc:  # mlcroissant reads a stranger's files: any failure is a refusal
        raise CroissantUnmappable(
            [f"record set '{part}' could not be read: {_first_line(_root_cause(exc))}"]
        ) from exc
    return read


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error (mlcroissant wraps the one that says what is wrong, such as
    "could not convert string to float: 'heavy'", in a generic one)."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # image content
    if value is None:
        return None
    if hasattr(value, "item") and not hasattr(value, "save"):  # numpy scalars, not images
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _copy_solution(solution: Path, target: Path) -> None:
    """The test rows' truth from ``--solution``: a CSV or Parquet file with id and label."""
    try:
        if solution.suffix == ".parquet":
            table = pq.read_table(solution, columns=["id", "label"])
        else:
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(
                solution,
                convert_options=pacsv.ConvertOptions(
                    include_columns=["id", "label"], column_types={"id": pa.string()}
                ),
            )
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise CroissantUnmappable([f"{solution}: not a file with id and label: {exc}"]) from exc
    pq.write_table(table.set_column(0, "id", table["id"].cast(pa.string())), target)


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
    doc: dict[str, Any], *, slug: str | None, kind: str, plan: _Plan
) -> dict[str, Any]:
    title = (_text(doc.get("name")) or "Imported dataset").strip()[:TITLE_MAX]
    spec: dict[str, Any] = {
        "slug": slug or _slug(doc, title),
        "title": title,
        "kind": kind,
        "description": _text(doc.get("description")),
    }
    declared = {p.name: p.role for p in plan.train if p.role in ROLES}
    if declared:
        spec["columns"] = declared
    metric = doc.get("tc:primaryMetric")
    if isinstance(metric, str) and metric:
        spec["metric"] = metric
    for key, term in (("public_fraction", "tc:publicFraction"), ("split_seed", "tc:splitSeed")):
        if term in doc:
            spec[key] = doc[term]
    options = doc.get("tc:kindOptions")
    if isinstance(options, dict):
        spec.update({k: v for k, v in options.items() if k not in spec})
    license_ = doc.get("license")
    if isinstance(license_, list) and license_:
        license_ = license_[0]
    if isinstance(license_, dict):
        license_ = license_.get("url") or license_.get("name")
    if isinstance(license_, str) and license_:
        spec["license"] = license_
    cite = doc.get("citeAs")
    if isinstance(cite, str) and cite:
        spec["citation"] = cite
    rai = {RAI_KEYS[k]: v for k, v in doc.items() if k in RAI_KEYS and isinstance(v, str) and v}
    if rai:
        spec["rai"] = rai
    return spec


def _slug(doc: dict[str, Any], title: str) -> str:
    declared = doc.get("tc:slug")
    if isinstance(declared, str) and SLUG_RE.match(declared):
        return declared
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:SLUG_MAX].strip("-")
    return slug or "imported-dataset"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
