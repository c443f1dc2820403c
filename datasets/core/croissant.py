"""Croissant 1.1 JSON-LD descriptions (MLCommons; ``mlcroissant`` reads them), free of Django.

:func:`dataset_jsonld` writes any dataset: its card (name, description, licence, creators,
citation, version, dates), its files (``FileObject`` with sha256 and content URL) and its
tables (a ``RecordSet`` per table, a ``Field`` per column with its data type), the
Responsible-AI notes it has, and the public summary of its columns (``variableMeasured``).
:func:`task_jsonld` describes a task with it: record sets ``train`` and ``test`` (never the
solution), each column's role (``id``, ``label``, ``text``, ``numeric``, ``categorical``,
``image``) given as the Croissant data type that says it (``cr:Label``, ``sc:Float``,
``sc:ImageObject``..., the record set's ``key`` for ``id``) and, exactly, as ``tc:role``.

What Croissant has no word for (the task's kind, metric, classes...) is said with the
platform's own terms, prefix ``tc`` (:data:`TERMS`), which other readers ignore and
``import_task --croissant`` reads back (docs/participants/formats.md). What is unknown is left out,
never guessed; a reader who may not download the files gets no ``distribution`` and no
``recordSet`` (a record set without files is not valid Croissant), only the card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
MEDIA_TYPE = f'application/ld+json; profile="{CONFORMS_TO}"'
# The platform's own terms (a URN: a name, not a page to fetch).
TERMS = "urn:tabular-challenge-platform:croissant:"
ROLES = ("id", "label", "text", "numeric", "categorical", "image")
ENCODINGS = {
    "csv": "text/csv",
    "parquet": "application/x-parquet",
    "zip": "application/zip",
}
# A column's stored type (docs/developers/data-contract.md) -> its Croissant atomic type.
ATOMIC = {"string": "sc:Text", "float64": "sc:Float", "int64": "sc:Integer", "bool": "sc:Boolean"}


def context() -> dict[str, Any]:
    """The JSON-LD ``@context``: the one Croissant 1.1 recommends, the RAI vocabulary and
    the platform's ``tc`` terms (``tc:kindOptions`` holds plain JSON)."""
    return {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "sc": "https://schema.org/",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "dct": "http://purl.org/dc/terms/",
        "tc": TERMS,
        "arrayShape": "cr:arrayShape",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "containedIn": "cr:containedIn",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "equivalentProperty": "cr:equivalentProperty",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isArray": "cr:isArray",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
        "tc:kindOptions": {"@type": "@json"},
    }


@dataclass(frozen=True)
class FileRef:
    """One downloadable file: ``name`` (its ``@id``), where to get it and its checksum."""

    name: str
    url: str
    sha256: str = ""  # "" for a live file (it changes: no checksum, Croissant's advice)
    size: int | None = None
    description: str = ""

    @property
    def encoding(self) -> str:
        return ENCODINGS.get(self.name.rsplit(".", 1)[-1], "application/octet-stream")


@dataclass(frozen=True)
class Column:
    """One column of a table: its stored type (``string``, ``float64``, ``int64``, ``bool``)
    and, for a task's table, its role (:data:`ROLES`; "" when unknown)."""

    name: str
    dtype: str
    role: str = ""
    description: str = ""

    def data_types(self) -> list[str]:
        atomic = ATOMIC.get(self.dtype, "sc:Text")
        if self.role == "label":
            return [atomic, "cr:Label"]
        if self.role == "image":  # the value is the image's path in images.zip
            return [atomic, "sc:ImageObject"]
        return [atomic]


@dataclass(frozen=True)
class Table:
    """A record set: ``id`` (``train``), the file its columns are read from, its columns and
    the column whose value identifies a record (``key``)."""

    id: str
    source: str
    columns: Sequence[Column]
    description: str = ""
    key: str = ""


@dataclass(frozen=True)
class Card:
    """The dataset-level facts (Croissant's required and recommended properties)."""

    name: str
    description: str
    url: str
    version: str = ""
    date_published: datetime | None = None
    date_created: datetime | None = None
    date_modified: datetime | None = None
    license: str = ""
    citation: str = ""
    creators: Sequence[str] = ()  # organizations
    keywords: Sequence[str] = ()
    catalog: tuple[str, str] | None = None  # (name, url) of the catalogue it belongs to
    rai: Mapping[str, str] = field(default_factory=dict)  # "rai:<property>" -> text
    live: bool = False


def dataset_jsonld(
    *,
    card: Card,
    files: Sequence[FileRef] = (),
    tables: Sequence[Table] = (),
    variables: Sequence[Mapping[str, Any]] = (),
    terms: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Croissant JSON-LD of a dataset. A table whose source is not among ``files`` is
    left out (no file, no records); without files there is no ``distribution`` and no
    ``recordSet`` key at all; ``terms`` are the platform's extra properties."""
    doc: dict[str, Any] = {
        "@context": context(),
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": card.name,
        "description": card.description or card.name,
        "url": card.url,
    }
    if card.version:
        doc["version"] = card.version
    for key, when in (
        ("datePublished", card.date_published),
        ("dateCreated", card.date_created),
        ("dateModified", card.date_modified),
    ):
        if when is not None:
            doc[key] = when.isoformat()
    if card.license:
        doc["license"] = card.license
    if card.citation:
        doc["citeAs"] = card.citation
    if card.creators:
        doc["creator"] = [{"@type": "sc:Organization", "name": n} for n in card.creators]
    if card.keywords:
        doc["keywords"] = list(card.keywords)
    if card.catalog is not None:
        doc["includedInDataCatalog"] = {
            "@type": "sc:DataCatalog",
            "name": card.catalog[0],
            "url": card.catalog[1],
        }
    if card.live:
        doc["isLiveDataset"] = True
    doc.update({key: text for key, text in card.rai.items() if text})
    if variables:
        doc["variableMeasured"] = [dict(v) for v in variables]
    doc.update(terms or {})
    # A reader who may download nothing gets neither key, rather than empty lists.
    names = {f.name for f in files}
    if files:
        doc["distribution"] = [_file_object(f) for f in files]
    record_sets = [_record_set(t) for t in tables if t.source in names]
    if record_sets:
        doc["recordSet"] = record_sets
    return doc


def _file_object(ref: FileRef) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "@type": "cr:FileObject",
        "@id": ref.name,
        "name": ref.name,
        "contentUrl": ref.url,
        "encodingFormat": ref.encoding,
    }
    if ref.description:
        obj["description"] = ref.description
    if ref.sha256:
        obj["sha256"] = ref.sha256
    if ref.size is not None:
        obj["contentSize"] = f"{ref.size} B"
    return obj


def field_id(table: str, column: str) -> str:
    """A field's ``@id``: ``<table>/<column>``, the column percent-encoded (an IRI)."""
    return f"{table}/{quote(column, safe='')}"


def _record_set(table: Table) -> dict[str, Any]:
    fields = []
    for column in table.columns:
        item: dict[str, Any] = {
            "@type": "cr:Field",
            "@id": field_id(table.id, column.name),
            "name": column.name,
            "dataType": column.data_types(),
            "source": {"fileObject": {"@id": table.source}, "extract": {"column": column.name}},
        }
        if column.description:
            item["description"] = column.description
        if column.role:
            item["tc:role"] = column.role
        fields.append(item)
    record_set: dict[str, Any] = {
        "@type": "cr:RecordSet",
        "@id": table.id,
        "name": table.id,
        "field": fields,
    }
    if table.description:
        record_set["description"] = table.description
    if table.key:
        record_set["key"] = {"@id": field_id(table.id, table.key)}
    return record_set


# --- a task ------------------------------------------------------------------------------

ROLE_WORDS = {
    "id": "the row's id (unique in its file)",
    "label": "the value to predict",
    "text": "free text",
    "numeric": "a number",
    "categorical": "one of a set of values",
    "image": "the path of an image inside images.zip",
}
FILE_WORDS = {
    "train.csv": "training rows with labels (CSV)",
    "train.parquet": "training rows with labels (Parquet)",
    "test.csv": "test rows to predict, without labels (CSV)",
    "test.parquet": "test rows to predict, without labels (Parquet)",
    "images.zip": "the images the image columns name",
}


@dataclass(frozen=True)
class TaskFacts:
    """What :func:`task_jsonld` says of a task's data version (the caller chose what the
    reader may see: ``files`` empty when they may not download)."""

    card: Card
    kind: str
    columns: Sequence[Mapping[str, str]]  # feature columns: {"name", "type"}, file order
    label_dtype: str  # the kind's stored label type: string, int64 or float64
    files: Sequence[FileRef] = ()
    card_columns: Sequence[Mapping[str, Any]] = ()  # card.json's column statistics
    rows: Mapping[str, int] = field(default_factory=dict)  # {"train": n, "test": m}
    terms: Mapping[str, Any] = field(default_factory=dict)  # tc:kind, tc:primaryMetric...


def task_columns(facts: TaskFacts, part: str) -> list[Column]:
    """The columns of ``part``'s file (docs/developers/data-contract.md): id, the features, and in
    train the label."""
    columns = [Column("id", "string", "id", ROLE_WORDS["id"])]
    for column in facts.columns:
        role = str(column.get("type") or "")  # "" when unknown (never guessed)
        dtype = "float64" if role == "numeric" else "string"
        columns.append(Column(str(column["name"]), dtype, role, ROLE_WORDS.get(role, "")))
    if part == "train":
        columns.append(Column("label", facts.label_dtype, "label", ROLE_WORDS["label"]))
    return columns


def _variables(facts: TaskFacts) -> list[dict[str, Any]]:
    """The columns as the public card shows them (schema.org ``PropertyValue``)."""
    stats = {str(c.get("name")): c for c in facts.card_columns}
    variables = []
    for column in task_columns(facts, "train"):
        words = [f"{column.role}: {ROLE_WORDS[column.role]}"] if column.role else []
        seen = stats.get(column.name) or {}
        if "missing_share" in seen:
            words.append(f"missing {100 * float(seen['missing_share'] or 0):.1f}%")
        if seen.get("distinct") is not None:
            bound = "at least " if seen.get("distinct_is_lower_bound") else ""
            words.append(f"{bound}{int(seen['distinct']):,} distinct values")
        variable = {"@type": "sc:PropertyValue", "name": column.name}
        if words:
            variable["description"] = "; ".join(words)
        if column.role:
            variable["tc:role"] = column.role
        variables.append(variable)
    return variables


def task_jsonld(facts: TaskFacts) -> dict[str, Any]:
    """The Croissant JSON-LD of a task's data version: record sets ``train`` and ``test``
    read from the Parquet files (typed: ids stay text), when the reader may have them."""
    tables = []
    for part in ("train", "test"):
        rows = facts.rows.get(part)
        words = FILE_WORDS[f"{part}.parquet"].split(" (")[0]
        tables.append(
            Table(
                id=part,
                source=f"{part}.parquet",
                columns=task_columns(facts, part),
                description=f"{words}; {rows:,} rows" if rows is not None else words,
                key="id",
            )
        )
    files = [
        FileRef(f.name, f.url, f.sha256, f.size, f.description or FILE_WORDS.get(f.name, ""))
        for f in facts.files
    ]
    return dataset_jsonld(
        card=facts.card,
        files=files,
        tables=tables,
        variables=_variables(facts),
        terms={"tc:kind": facts.kind, **facts.terms},
    )
