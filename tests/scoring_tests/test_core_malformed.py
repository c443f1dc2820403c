"""A corpus of broken submissions, each refused with a message naming the problem."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scoring.core import SubmissionInvalid, score_file, solution_from_table

IDS = [f"t{i:03d}" for i in range(8)]
CLASSES = ["3", "cat", "dog"]
LABELS = ["cat", "dog", "3", "cat", "dog", "3", "cat", "cat"]
SPLIT = ["public", "private"] * 4
MATCH = [0, 1, 1, 0, 0, 1, 0, 1]


def classification_solution():
    table = pa.table({"id": IDS, "label": LABELS, "split": SPLIT})
    return solution_from_table(table, kind="classification", classes=CLASSES)


def matching_solution():
    table = pa.table({"id": IDS, "label": pa.array(MATCH, pa.int64()), "split": SPLIT})
    return solution_from_table(table, kind="matching", classes=["0", "1"])


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def good_rows(labels: list[str] = LABELS) -> list[str]:
    return [f"{i},{label}" for i, label in zip(IDS, labels, strict=True)]


def parquet(columns: dict[str, pa.Array | list]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def parquet_arrays(arrays: list[pa.Array], names: list[str]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=names), out)
    return out.getvalue()


def probas(overrides: dict[int, str] | None = None) -> bytes:
    """A valid probability file where row i's proba_3 cell is replaced by overrides[i]."""
    lines = ["id,label,proba_3,proba_cat,proba_dog"]
    for i, (id_, label) in enumerate(zip(IDS, LABELS, strict=True)):
        p3 = (overrides or {}).get(i, "0.2")
        lines.append(f"{id_},{label},{p3},0.5,0.3")
    return csv(*lines)


def matching_csv(score_override: dict[int, str] | None = None, labels=MATCH) -> bytes:
    lines = ["id,label,score"]
    for i, (id_, label) in enumerate(zip(IDS, labels, strict=True)):
        lines.append(f"{id_},{label},{(score_override or {}).get(i, '0.5')}")
    return csv(*lines)


def corrupt_parquet() -> bytes:
    data = parquet({"id": IDS, "label": LABELS})
    return data[:4] + b"\x00" * 40 + data[44:-12] + b"\x00" * 8 + b"PAR1"


@dataclass(frozen=True)
class Case:
    name: str
    content: Callable[[], bytes]
    expected: tuple[str, ...]
    kind: str = "classification"
    max_bytes: int | None = None


CASES = [
    Case("empty file", lambda: b"", ("empty",)),
    Case("blank file", lambda: b"  \n\r\n", ("empty",)),
    Case("header only", lambda: csv("id,label"), ("no rows",)),
    Case(
        "parquet without rows",
        lambda: parquet({"id": pa.array([], pa.string()), "label": pa.array([], pa.string())}),
        ("no rows",),
    ),
    Case("gzip garbage", lambda: b"\x1f\x8b" + b"not really gzip" * 3, ("does not decompress",)),
    Case(
        "truncated gzip",
        lambda: gzip.compress(csv("id,label", *good_rows()))[:-9],
        ("does not decompress",),
    ),
    Case("gzipped empty file", lambda: gzip.compress(b""), ("unpacks to an empty file",)),
    Case(
        "gzipped parquet",
        lambda: gzip.compress(parquet({"id": IDS, "label": LABELS})),
        ("Gzipped Parquet",),
    ),
    Case(
        "latin-1 body",
        lambda: csv("id,label", *good_rows()[:2]) + "t002,caf\xe9\n".encode("latin-1"),
        ("not UTF-8", "line 4", "0xe9"),
    ),
    Case(
        "latin-1 header",
        lambda: "id,label,r\xe9sum\xe9\n".encode("latin-1"),
        ("not UTF-8", "line 1"),
    ),
    Case("utf-16", lambda: "id,label\n".encode("utf-16"), ("UTF-16",)),
    Case("zip archive", lambda: b"PK\x03\x04" + b"\x00" * 30, ("ZIP",)),
    Case(
        "row with too many values",
        lambda: csv("id,label", *good_rows()[:2], "t002,3,extra", *good_rows()[3:]),
        ("Line 4 has 3 values but the header has 2 columns", "'t002,3,extra'"),
    ),
    Case(
        "row with too few values",
        lambda: csv("id,label", "t000", *good_rows()[1:]),
        ("Line 2 has 1 value but the header has 2 columns",),
    ),
    Case(
        "ragged gzip csv",
        lambda: gzip.compress(csv("id,label", "t000,cat,x,y")),
        ("Line 2 has 4 values",),
    ),
    Case(
        "quote left open",
        lambda: csv("id,label", '"t000,cat', *good_rows()[1:]),
        ("Line 2 has 1 value", "quote", "left open"),
    ),
    Case(
        "row too long to parse",
        lambda: csv("id,label", "x" * (3 << 20) + ",cat"),
        ("too long to read",),
    ),
    Case(
        "header with a stray quote",
        lambda: csv('id,"la"bel', *good_rows()),
        ("The first line cannot be read as column names",),
    ),
    Case("semicolons", lambda: csv("id;label", "t000;cat"), ("separated by semicolons",)),
    Case("tabs", lambda: csv("id\tlabel", "t000\tcat"), ("separated by tabs",)),
    Case(
        "duplicate csv columns",
        lambda: csv("id,label,label", "t000,cat,dog"),
        ("duplicate column name", "'label'"),
    ),
    Case(
        "duplicate parquet columns",
        lambda: parquet_arrays(
            [pa.array(IDS), pa.array(LABELS), pa.array(LABELS)], ["id", "label", "label"]
        ),
        ("duplicate column name", "'label'"),
    ),
    Case("not parquet after magic", lambda: b"PAR1" + b"\x07" * 100, ("not a readable Parquet",)),
    Case("parquet with broken footer", corrupt_parquet, ("Parquet",)),
    Case("too large", lambda: csv("id,label", *good_rows()), ("limit of 20 bytes",), max_bytes=20),
    Case(
        "gzip unpacking past the limit",
        lambda: gzip.compress(b"id,label\n" + b"x" * 10_000),
        ("unpacks to more than",),
        max_bytes=5_000,
    ),
    Case(
        "missing id column",
        lambda: csv("ident,label,note", "t000,cat,x"),
        ("'id'", "missing", "Found 3 columns", "'ident'", "'note'"),
    ),
    Case(
        "missing label column",
        lambda: csv("id,prediction", *good_rows()),
        ("'label'", "missing", "'prediction'"),
    ),
    Case("capitalised columns", lambda: csv("Id,Label", *good_rows()), ("case-sensitive",)),
    Case(
        "spaces in the header",
        lambda: csv("id, label", *good_rows()),
        ("' label'", "spaces around them"),
    ),
    Case("no header line", lambda: csv(*good_rows()), ("must be a header", "'t000', 'cat'")),
    Case(
        "duplicate ids",
        lambda: csv("id,label", *good_rows(), "t003,cat", "t003,dog"),
        ("1 id appears more than once (3 rows)", "'t003'"),
    ),
    Case(
        "missing ids",
        lambda: csv("id,label", *good_rows()[2:]),
        ("2 test ids are missing", "'t000', 't001'"),
    ),
    Case(
        "unknown ids",
        lambda: csv("id,label", *good_rows(), "zzz,cat"),
        ("1 row has an id that is not in the test set", "'zzz'"),
    ),
    Case(
        "ids changed",
        lambda: csv("id,label", *[f"{i},cat" for i in range(8)]),
        ("No id matches", "'t000'"),
    ),
    Case(
        "empty ids",
        lambda: csv("id,label", *good_rows()[1:], ",cat"),
        ("1 row has an empty id", "1 test id is missing"),
    ),
    Case(
        "null ids in parquet",
        lambda: parquet({"id": [None, *IDS[1:]], "label": LABELS}),
        ("1 row has no id", "row 1"),
    ),
    Case(
        "empty labels",
        lambda: csv("id,label", *good_rows(["cat", "", *LABELS[2:]])),
        ("1 row has an empty label", "id 't001'"),
    ),
    Case(
        "null labels in parquet",
        lambda: parquet({"id": IDS, "label": [None, *LABELS[1:]]}),
        ("1 row has an empty label", "id 't000'"),
    ),
    Case(
        "labels outside the classes",
        lambda: csv("id,label", *good_rows(["bird", "Cat", *LABELS[2:]])),
        (
            "2 rows have a label that is not a class",
            "'bird'",
            "'Cat'",
            "The classes are: '3', 'cat', 'dog'",
        ),
    ),
    Case(
        "integer labels outside the classes in parquet",
        lambda: parquet({"id": IDS, "label": [3, 3, 4, 3, 3, 3, 3, 3]}),
        ("1 row has a label that is not a class: '4'", "id 't002'"),
    ),
    Case(
        "null in dictionary labels",
        lambda: parquet(
            {"id": IDS, "label": pa.array([*LABELS[:5], None, *LABELS[6:]]).dictionary_encode()}
        ),
        ("1 row has an empty label", "id 't005'"),
    ),
    Case(
        "float labels in parquet",
        lambda: parquet({"id": IDS, "label": [3.0] * 8}),
        ("Column 'label' has type double", "class names"),
    ),
    Case(
        "struct labels in parquet",
        lambda: parquet({"id": IDS, "label": [{"name": "cat"}] * 8}),
        ("Column 'label' has type struct",),
    ),
    Case(
        "list ids in parquet",
        lambda: parquet({"id": [[i] for i in IDS], "label": LABELS}),
        ("Column 'id' has type list",),
    ),
    Case(
        "matching label 2",
        lambda: matching_csv(labels=[2, *MATCH[1:]]),
        ("1 row has a label other than 0 or 1", "'2'", "id 't000'"),
        kind="matching",
    ),
    Case(
        "matching label text",
        lambda: matching_csv(labels=["yes", *MATCH[1:]]),
        ("other than 0 or 1", "'yes'"),
        kind="matching",
    ),
    Case(
        "matching float labels",
        lambda: parquet({"id": IDS, "label": [0.0] * 8}),
        ("Column 'label' has type double", "0 or 1"),
        kind="matching",
    ),
    Case(
        "matching int label 5 in parquet",
        lambda: parquet({"id": IDS, "label": [5] * 8}),
        ("8 rows have a label other than 0 or 1", "5"),
        kind="matching",
    ),
    Case(
        "some proba columns missing",
        lambda: csv("id,label,proba_cat", *[f"{r},1" for r in good_rows()]),
        ("every class", "2 columns are missing", "'proba_3'", "'proba_dog'"),
    ),
    Case(
        "proba for an unknown class",
        lambda: csv(
            "id,label,proba_3,proba_cat,proba_dog,proba_bird",
            *[f"{r},0.2,0.5,0.3,0" for r in good_rows()],
        ),
        ("proba_<class>", "unknown: 'proba_bird'"),
    ),
    Case(
        "proba text in csv",
        lambda: probas({2: "high"}),
        ("Column 'proba_3' must hold numbers", "line 4", "'high'"),
    ),
    Case(
        "proba text in parquet",
        lambda: parquet(
            {
                "id": IDS,
                "label": LABELS,
                "proba_3": ["0.2"] * 8,
                "proba_cat": [0.5] * 8,
                "proba_dog": [0.3] * 8,
            }
        ),
        ("Column 'proba_3' has type string", "expected numbers (float64)"),
    ),
    Case(
        "proba NaN",
        lambda: probas({1: "NaN", 4: ""}),
        ("2 rows have an empty or NaN probability", "'t001', 't004'"),
    ),
    Case(
        "proba above 1",
        lambda: probas({0: "1.2"}),
        ("1 row has a probability outside [0, 1]", "id 't000'"),
    ),
    Case("proba negative", lambda: probas({7: "-0.2"}), ("outside [0, 1]", "'t007'")),
    Case(
        "proba rows not summing to 1",
        lambda: probas({3: "0.25", 5: "0.1"}),
        ("2 rows have probabilities that do not sum to 1", "'t003', 't005'", "1.05"),
    ),
    Case(
        "score above 1",
        lambda: matching_csv({6: "1.5"}),
        ("1 row has a score outside [0, 1]", "'t006'"),
        kind="matching",
    ),
    Case(
        "score NaN",
        lambda: matching_csv({2: "nan"}),
        ("1 row has an empty or NaN score", "'t002'"),
        kind="matching",
    ),
    Case(
        "score text",
        lambda: matching_csv({2: "x"}),
        ("Column 'score' must hold numbers",),
        kind="matching",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_submission_is_refused_with_a_precise_message(case: Case):
    solution = classification_solution() if case.kind == "classification" else matching_solution()
    with pytest.raises(SubmissionInvalid) as caught:
        score_file(io.BytesIO(case.content()), solution, max_bytes=case.max_bytes)
    message = caught.value.message
    for words in case.expected:
        assert words in message, f"{words!r} not in {message!r}"
    assert len(message.splitlines()) <= 5 and "Traceback" not in message


def test_the_corpus_covers_enough_distinct_problems():
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)


def test_messages_cite_at_most_five_examples():
    many = csv("id,label", *[f"x{i},cat" for i in range(50)])
    with pytest.raises(SubmissionInvalid) as caught:
        score_file(io.BytesIO(many), classification_solution())
    assert "'x4'" in caught.value.message and "'x5'" not in caught.value.message
    assert "50 rows have an id that is not in the test set" in caught.value.message
