"""The bundle's files written from a Croissant dataset's records, for
``import_task --croissant``, free of Django: each record set streamed into Parquet a batch
at a time with the types its fields declare (never a whole table in memory, at most a
bundle's rows), and image columns' images into ``images/`` (image content as PNG files; an
``images.zip`` extracted member by member within a bundle's limits)."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from common.archives import zip_member_problem
from common.wording import first_line
from datasets.core.bundle import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_UNCOMPRESSED_BYTES
from datasets.core.croissant_source import (
    CroissantUnmappable,
    fetch,
    listed,
    root_cause,
    text_of,
)
from datasets.core.io import arrow_type
from datasets.core.validate import DEFAULT_MAX_ROWS

MAX_ROWS = DEFAULT_MAX_ROWS  # per record set, as a bundle's files
MAX_IMAGES_BYTES = DEFAULT_MAX_UNCOMPRESSED_BYTES
MAX_IMAGES = DEFAULT_MAX_MEMBERS
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class FieldPlan:
    """How one Croissant field becomes a bundle column."""

    id: str
    name: str
    role: str  # id, label, text, numeric, categorical, image, or "" (the import infers)
    image_content: bool = False  # the values are images, not paths
    dtype: str = "string"  # as the bundle's Parquet file stores it: string, float64, int64


class Images:
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
        for item in listed(self.doc.get("distribution")):
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
                path.write_bytes(fetch(url, MAX_IMAGES_BYTES))
                return path
        return None


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


def _fits(value: Any, wanted: pa.DataType) -> bool:
    try:
        pa.array([value], type=wanted)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False
    return True


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


def write_part(
    dataset: Any,
    record_set: dict[str, Any],
    plans: list[FieldPlan],
    images: Images,
    bundle: Path,
    *,
    to_solution: bool = False,
) -> PartRead:
    """Stream the record set's rows into ``<part>.parquet`` (ids numbered when it has none);
    with ``to_solution``, the test rows' labels go to ``solution.parquet`` instead."""
    part = str(record_set.get("@id") or text_of(record_set.get("name")))
    name = "train" if part.lower() == "train" else "test"
    has_id = any(p.role == "id" for p in plans)
    label = next((p for p in plans if p.role == "label"), None)
    columns = [p for p in plans if not (name == "test" and p.role == "label")]
    if not has_id:
        columns = [FieldPlan("", "id", "id"), *columns]
    table = _Parquet(
        bundle / f"{name}.parquet", pa.schema([(p.name, arrow_type(p.dtype)) for p in columns])
    )
    solution = None
    if to_solution and label is not None:
        solution = _Parquet(
            bundle / "solution.parquet",
            pa.schema([("id", pa.string()), ("label", arrow_type(label.dtype))]),
        )
    read = PartRead()
    try:
        for row, record in enumerate(dataset.records(part)):
            if row >= MAX_ROWS:
                raise CroissantUnmappable(
                    [f"record set '{part}' has more than {MAX_ROWS:,} rows (a bundle's limit)"]
                )
            values = _row(record, plans, images, name, row)
            if not has_id:
                values["id"] = f"{name}-{row}"
            table.add(values)
            if solution is not None:
                solution.add({"id": values["id"], "label": values.get("label")})
            if label is not None and len(read.label_values) < 3:
                read.label_values.add(values.get("label"))
            read.rows = row + 1
        for written in (table, solution):
            if written is not None:
                written.close()
    except CroissantUnmappable:
        raise
    except Exception as exc:  # mlcroissant reads a stranger's files: any failure is a refusal
        raise CroissantUnmappable(
            [f"record set '{part}' could not be read: {first_line(root_cause(exc))}"]
        ) from exc
    return read


def _row(
    record: Mapping[str, Any], plans: list[FieldPlan], images: Images, part: str, row: int
) -> dict[str, Any]:
    """One record's values by bundle column; images written, their paths kept."""
    values: dict[str, Any] = {}
    for plan in plans:
        value = _value(record.get(plan.id), plan)
        if plan.role == "image" and value is not None:
            if plan.image_content:
                value = images.content(part, row, plan.name, _plain(record.get(plan.id)))
            else:
                images.paths()
        values[plan.name] = value
    return values


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


def copy_solution(solution: Path, target: Path) -> None:
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


