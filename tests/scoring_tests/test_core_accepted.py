"""Files written in many acceptable ways score exactly like the canonical file.

Decisions pinned here: columns other than id, label, proba_<class> / score are ignored
(a pandas index column, a note); matching labels may be 0/1 integers, booleans, or the
text 0/1/true/false.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.units import byte_size
from scoring.core import (
    SubmissionInvalid,
    load_predictions,
    load_solution,
    save_predictions,
    score_file,
    solution_from_table,
)
from scoring.core import align as align_module

N = 40
CLASSES = ["3", "cat", "dog"]
RNG = np.random.default_rng(7)
IDS = [f"id-{i:04d}" for i in range(N)]
TRUTH = list(RNG.choice(CLASSES, N))
SPLIT = list(RNG.choice(["public", "private"], N))
# Probabilities in eighths: exact in float32 too, and each row sums to exactly 1.
EIGHTHS = RNG.multinomial(8, [1 / 3] * 3, N) / 8
PRED = [CLASSES[j] for j in EIGHTHS.argmax(axis=1)]
MATCH_TRUTH = list(RNG.integers(0, 2, N))
MATCH_PRED = list(RNG.integers(0, 2, N))
SCORES = list(RNG.choice([0.0, 0.25, 0.5, 0.75, 1.0], N))


@pytest.fixture(scope="module")
def classification():
    table = pa.table({"id": IDS, "label": TRUTH, "split": SPLIT})
    return solution_from_table(table, kind="classification", classes=CLASSES)


@pytest.fixture(scope="module")
def matching():
    table = pa.table({"id": IDS, "label": pa.array(MATCH_TRUTH, pa.int64()), "split": SPLIT})
    return solution_from_table(table, kind="matching", classes=["0", "1"])


def frame(order: np.ndarray | None = None) -> pd.DataFrame:
    df = pd.DataFrame({"id": IDS, "label": PRED})
    for j, c in enumerate(CLASSES):
        df[f"proba_{c}"] = EIGHTHS[:, j]
    return df if order is None else df.iloc[order].reset_index(drop=True)


def to_csv(df: pd.DataFrame, **kwargs) -> bytes:
    return df.to_csv(index=False, **kwargs).encode()


def to_parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


CANONICAL = to_csv(frame())
SHUFFLE = RNG.permutation(N)


def multi_member_gzip() -> bytes:
    text = CANONICAL.decode().splitlines(keepends=True)
    return gzip.compress("".join(text[:11]).encode()) + gzip.compress("".join(text[11:]).encode())


def typed_parquet() -> bytes:
    df = frame(SHUFFLE)
    return to_parquet(
        pa.table(
            {
                "proba_dog": pa.array(df["proba_dog"], pa.float32()),
                "label": pa.array(df["label"]).dictionary_encode(),
                "proba_3": pa.array(df["proba_3"], pa.float32()),
                "id": pa.array(df["id"], pa.large_string()),
                "proba_cat": pa.array(df["proba_cat"], pa.float32()),
            }
        )
    )


VARIANTS = {
    "canonical csv": lambda: CANONICAL,
    "utf-8 bom": lambda: b"\xef\xbb\xbf" + CANONICAL,
    "crlf": lambda: CANONICAL.replace(b"\n", b"\r\n"),
    "old mac line endings (cr)": lambda: CANONICAL.replace(b"\n", b"\r"),
    "bom and crlf": lambda: b"\xef\xbb\xbf" + CANONICAL.replace(b"\n", b"\r\n"),
    "no final newline": lambda: CANONICAL.rstrip(b"\n"),
    "blank lines at the end": lambda: CANONICAL + b"\n\n",
    "shuffled rows": lambda: to_csv(frame(SHUFFLE)),
    "shuffled columns": lambda: to_csv(
        frame()[["proba_dog", "label", "proba_3", "id", "proba_cat"]]
    ),
    "extra columns ignored": lambda: to_csv(frame().assign(note="x", model="gbm")),
    "pandas index column ignored": lambda: frame().to_csv().encode(),
    "every field quoted": lambda: to_csv(frame(), quoting=1),
    "gzip": lambda: gzip.compress(CANONICAL),
    "gzip of several members": multi_member_gzip,
    "parquet": lambda: to_parquet(pa.Table.from_pandas(frame(), preserve_index=False)),
    "parquet from pandas with its index": lambda: _pandas_parquet(frame(SHUFFLE)),
    "parquet shuffled, float32, large_string, dictionary": typed_parquet,
}


def _pandas_parquet(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    df.set_axis(np.arange(100, 100 + N)).to_parquet(out, index=True)
    return out.getvalue()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_acceptable_variant_scores_like_the_canonical_file(name, classification):
    expected = score_file(io.BytesIO(CANONICAL), classification)
    got = score_file(io.BytesIO(VARIANTS[name]()), classification)
    assert got.metrics == expected.metrics
    assert set(got.metrics["all"]) == {"accuracy", "macro_f1", "log_loss", "opis"}
    np.testing.assert_array_equal(got.aligned.pred, expected.aligned.pred)
    np.testing.assert_array_equal(got.aligned.proba, expected.aligned.proba)
    assert got.row_count == N


def test_format_is_reported(classification, tmp_path: Path):
    assert score_file(io.BytesIO(CANONICAL), classification).format == "csv"
    assert score_file(io.BytesIO(gzip.compress(CANONICAL)), classification).format == "csv.gz"
    path = tmp_path / "submission.txt"  # the name's extension is not trusted
    path.write_bytes(VARIANTS["parquet"]())
    assert score_file(path, classification).format == "parquet"
    assert score_file(str(path), classification).format == "parquet"


def test_size_limit_on_a_path_names_both_sizes(classification, tmp_path: Path):
    path = tmp_path / "big.csv"
    path.write_bytes(CANONICAL)
    # Both sizes in the platform's one unit (common/units.py): "1.1 KiB; the limit is 100 bytes".
    message = f"The file is {re.escape(byte_size(len(CANONICAL)))}; the limit is 100 bytes"
    with pytest.raises(SubmissionInvalid, match=message):
        score_file(path, classification, max_bytes=100)
    assert score_file(path, classification, max_bytes=len(CANONICAL)).row_count == N


def test_integer_labels_match_text_classes():
    classes = ["1", "2", "3"]
    truth = [str(v) for v in RNG.integers(1, 4, N)]
    table = pa.table({"id": IDS, "label": truth, "split": SPLIT})
    solution = solution_from_table(table, kind="classification", classes=classes)
    as_text = to_csv(pd.DataFrame({"id": IDS, "label": truth}))
    as_int = to_parquet(pa.table({"id": IDS, "label": pa.array([int(t) for t in truth])}))
    expected = score_file(io.BytesIO(as_text), solution)
    assert expected.metrics["all"]["accuracy"] == 1.0
    assert score_file(io.BytesIO(as_int), solution).metrics == expected.metrics


def test_integer_ids_in_parquet_match_text_ids():
    ids = [str(i) for i in range(N)]
    table = pa.table({"id": ids, "label": TRUTH, "split": SPLIT})
    solution = solution_from_table(table, kind="classification", classes=CLASSES)
    data = to_parquet(pa.table({"id": pa.array(range(N), pa.int64()), "label": TRUTH}))
    assert score_file(io.BytesIO(data), solution).metrics["all"]["accuracy"] == 1.0


def _matching_csv(labels: list[str]) -> bytes:
    df = pd.DataFrame({"id": IDS, "label": labels, "score": SCORES})
    return to_csv(df)


MATCHING_VARIANTS = {
    "0/1 text": lambda: _matching_csv([str(v) for v in MATCH_PRED]),
    "true/false": lambda: _matching_csv(["true" if v else "false" for v in MATCH_PRED]),
    "True/False from pandas": lambda: _matching_csv([bool(v) for v in MATCH_PRED]),
    "int parquet": lambda: to_parquet(
        pa.table({"id": IDS, "label": pa.array(MATCH_PRED, pa.int8()), "score": SCORES})
    ),
    "bool parquet": lambda: to_parquet(
        pa.table({"id": IDS, "label": [bool(v) for v in MATCH_PRED], "score": SCORES})
    ),
    "text parquet": lambda: to_parquet(
        pa.table({"id": IDS, "label": [str(v) for v in MATCH_PRED], "score": SCORES})
    ),
    "proba columns ignored": lambda: to_csv(
        pd.DataFrame({"id": IDS, "label": MATCH_PRED, "score": SCORES, "proba_1": 0.5})
    ),
}


@pytest.mark.parametrize("name", list(MATCHING_VARIANTS))
def test_matching_label_encodings_score_alike(name, matching):
    expected = score_file(io.BytesIO(MATCHING_VARIANTS["0/1 text"]()), matching)
    got = score_file(io.BytesIO(MATCHING_VARIANTS[name]()), matching)
    assert got.metrics == expected.metrics
    assert set(got.metrics["public"]) == {"f1", "precision", "recall", "average_precision"}
    np.testing.assert_array_equal(got.aligned.pred, np.array(MATCH_PRED))


def test_fast_path_and_join_path_agree(monkeypatch):
    n, classes = 3000, ["a", "b", "c", "d"]
    rng = np.random.default_rng(1)
    ids = [f"{rng.integers(1e9)}-{i}" for i in range(n)]
    table = pa.table(
        {"id": ids, "label": rng.choice(classes, n), "split": rng.choice(["public", "private"], n)}
    )
    solution = solution_from_table(table, kind="classification", classes=classes)
    proba = rng.dirichlet(np.ones(4), n)
    df = pd.DataFrame({"id": ids, "label": rng.choice(classes, n)})
    for j, c in enumerate(classes):
        df[f"proba_{c}"] = proba[:, j]
    in_order = to_parquet(pa.Table.from_pandas(df, preserve_index=False))
    shuffled = to_parquet(
        pa.Table.from_pandas(df.sample(frac=1, random_state=3), preserve_index=False)
    )
    joins = []
    real_locate = align_module.locate
    monkeypatch.setattr(align_module, "locate", lambda *a: joins.append(1) or real_locate(*a))

    fast = score_file(io.BytesIO(in_order), solution)
    assert joins == []  # ids in the solution's order are never looked up
    joined = score_file(io.BytesIO(shuffled), solution)
    assert joins == [1]
    assert fast.metrics == joined.metrics
    np.testing.assert_array_equal(fast.aligned.pred, joined.aligned.pred)
    np.testing.assert_array_equal(fast.aligned.proba, joined.aligned.proba)


def test_predictions_round_trip(classification, matching):
    for solution, data in (
        (classification, CANONICAL),
        (matching, MATCHING_VARIANTS["0/1 text"]()),
    ):
        aligned = score_file(io.BytesIO(data), solution).aligned
        back = load_predictions(save_predictions(aligned))
        np.testing.assert_array_equal(back.pred, aligned.pred)
        for name in ("proba", "score"):
            original, restored = getattr(aligned, name), getattr(back, name)
            if original is None:
                assert restored is None
            else:
                np.testing.assert_array_equal(restored, original)


def test_load_solution_from_the_standardized_parquet(tmp_path: Path):
    path = tmp_path / "solution.parquet"
    pq.write_table(
        pa.table({"id": IDS, "label": pa.array(MATCH_TRUTH, pa.int64()), "split": SPLIT}), path
    )
    solution = load_solution(path, kind="matching", classes=["0", "1"])
    np.testing.assert_array_equal(solution.y, MATCH_TRUTH)
    np.testing.assert_array_equal(solution.is_public, np.array(SPLIT) == "public")
    assert solution.ids.type == pa.string() and solution.ids.to_pylist() == IDS
    with path.open("rb") as f:
        assert load_solution(f, kind="matching", classes=["0", "1"]).y.sum() == sum(MATCH_TRUTH)


def test_loaded_solution_equals_the_one_built_from_its_table(tmp_path: Path):
    table = pa.table({"id": IDS, "label": TRUTH, "split": SPLIT})
    path = tmp_path / "solution.parquet"
    pq.write_table(table, path, row_group_size=7)  # several dictionary chunks
    loaded = load_solution(path, kind="classification", classes=CLASSES)
    built = solution_from_table(table, kind="classification", classes=CLASSES)
    np.testing.assert_array_equal(loaded.y, built.y)
    np.testing.assert_array_equal(loaded.y, [CLASSES.index(t) for t in TRUTH])
    np.testing.assert_array_equal(loaded.is_public, built.is_public)
    assert loaded.ids.equals(built.ids)


@pytest.mark.parametrize(
    ("labels", "split", "classes", "words"),
    [
        (["cat", "emu"], ["public", "private"], ["cat", "dog"], "not in classes"),
        (["cat", "dog"], ["public", "hidden"], ["cat", "dog"], "public"),
        (["cat", "dog"], ["public", "private"], ["cat"], "at least two"),
    ],
)
def test_a_broken_solution_is_an_organizer_error_not_a_submission_error(
    labels, split, classes, words
):
    table = pa.table({"id": ["a", "b"], "label": labels, "split": split})
    with pytest.raises(ValueError, match=words):
        solution_from_table(table, kind="classification", classes=classes)
