"""Small hostile files that would unpack to gigabytes are refused in bounded memory.

Each file is built here, then scored in a fresh Python process (only the pure scoring
core imported) that reports its peak resident memory (``VmHWM``; ``ru_maxrss`` would
include the forking pytest process's own peak, which Linux carries across exec): the bound is
generous (300 MB, where the unguarded reader peaked at 3.3 GB on the first bomb) and
no time is asserted.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_ROWS = 1000
PEAK_LIMIT_MB = 300

SCORE = """
import json, os, sys
import pyarrow as pa
from scoring.core import SubmissionInvalid, score_file, solution_from_table
n = int(sys.argv[2])
ids = [f"t{i:04d}" for i in range(n)]
solution = solution_from_table(
    pa.table({"id": ids, "label": ["cat", "dog"] * (n // 2), "split": ["public"] * n}),
    kind="classification", classes=["cat", "dog"],
)
try:
    score_file(sys.argv[1], solution, max_bytes=int(sys.argv[3]))
    message = None
except SubmissionInvalid as exc:
    message = exc.message
with open("/proc/self/status") as status:  # this process's high-water mark only
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
print(json.dumps({"message": message, "peak_mb": peak}), flush=True)
os._exit(0)  # no interpreter teardown, where pyarrow's threads may abort: common/launch.py
"""


def score_in_subprocess(path: Path, max_bytes: int = 200 * 10**6) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCORE, str(path), str(TEST_ROWS), str(max_bytes)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def repeated(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([value]))


def write_parquet(path: Path, chunks: int, rows: int, id_value: str, store_schema: bool) -> None:
    table = pa.table({"id": repeated(id_value, rows), "label": repeated("cat", rows)})
    with pq.ParquetWriter(path, table.schema, store_schema=store_schema) as writer:
        for _ in range(chunks):
            writer.write_table(table)


def test_parquet_declaring_50m_rows_is_refused_from_its_footer(tmp_path):
    path = tmp_path / "bomb.parquet"
    write_parquet(path, chunks=50, rows=1_000_000, id_value="t0001", store_schema=False)
    assert path.stat().st_size < 2_000_000  # what an attacker uploads: a few hundred KB
    result = score_in_subprocess(path)
    assert result["message"].startswith("The file has 50,000,000 rows")
    assert "1,000 test rows" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


@pytest.mark.parametrize("store_schema", [False, True], ids=["as-strings", "as-categorical"])
def test_a_long_dictionary_value_on_every_row_is_refused(tmp_path, store_schema):
    # 10,000 rows (within the row limit) of one 1 MB id: 10 GB once decoded.
    path = tmp_path / "long-value.parquet"
    write_parquet(path, chunks=1, rows=10_000, id_value="x" * 10**6, store_schema=store_schema)
    result = score_in_subprocess(path)
    assert "unpack to more than" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_a_value_the_page_read_measures_on_every_row_is_refused(tmp_path):
    # 10,000 rows of one 60 KB id (under 64 KiB: its length is read from the dictionary
    # page's bytes, scoring.core.dictpage, not by Arrow): 600 MB once decoded.
    path = tmp_path / "long-value.parquet"
    write_parquet(path, chunks=1, rows=10_000, id_value="x" * 60_000, store_schema=False)
    result = score_in_subprocess(path)
    assert "unpack to more than" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def one_row_groups(path: Path, rows: int) -> None:
    ids = [f"t{i:04d}" for i in range(rows)]
    pq.write_table(pa.table({"id": ids, "label": ["cat"] * rows}), path, row_group_size=1)


def test_more_row_groups_than_are_read_are_refused_from_the_footer(tmp_path):
    # Each row group costs a probe of its dictionaries; one-row groups (within the row
    # limit) once made a 7 MB file take minutes: the count is refused before any decoding.
    from scoring.core.bounds import MAX_ROW_GROUPS

    path = tmp_path / "many-groups.parquet"
    one_row_groups(path, MAX_ROW_GROUPS + 1)
    assert pq.ParquetFile(path).metadata.num_rows <= 2 * TEST_ROWS + 10_000  # not the row limit
    result = score_in_subprocess(path)
    assert result["message"].startswith(f"The Parquet file has {MAX_ROW_GROUPS + 1:,} row groups")
    assert f"at most {MAX_ROW_GROUPS:,} are read" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_a_file_of_one_row_groups_within_the_limit_is_read_whole(tmp_path):
    path = tmp_path / "small-groups.parquet"
    one_row_groups(path, TEST_ROWS)
    assert pq.ParquetFile(path).metadata.num_row_groups == TEST_ROWS
    result = score_in_subprocess(path)
    assert result["message"] is None  # scored
    assert result["peak_mb"] < PEAK_LIMIT_MB


@pytest.mark.parametrize(
    ("sizes", "parts", "expected"),
    [
        ([10, 10, 10], 4, [[0], [1], [2]]),
        ([10, 10, 10], 2, [[0, 1], [2]]),
        ([10, 10, 10], 1, [[0, 1, 2]]),
        ([100, 1, 1, 1], 2, [[0], [1, 2, 3]]),
        ([1] * 8, 4, [[0, 1], [2, 3], [4, 5], [6, 7]]),
        ([0, 5, 0, 5, 0], 2, [[0, 1], [2, 3, 4]]),
        ([0, 0], 2, [[0, 1]]),
        ([], 2, [[]]),
    ],
)
def test_row_groups_are_decoded_in_contiguous_runs_of_about_as_many_rows(
    tmp_path, sizes, parts, expected
):
    from scoring.core.bounds import row_group_parts

    path = tmp_path / "groups.parquet"
    schema = pa.schema([("id", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for rows in sizes:
            writer.write_table(pa.table({"id": [f"t{i}" for i in range(rows)]}, schema=schema))
    metadata = pq.ParquetFile(path).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == sizes
    runs = row_group_parts(metadata, parts)
    assert runs == expected
    assert [g for run in runs for g in run] == list(range(len(sizes)))  # each once, in order


def test_gzip_bomb_is_refused_after_a_bounded_unpack(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    with path.open("wb") as out:
        out.write(squeeze.compress(b"id,label\n"))
        block = b"t0001,cat\n" * 100_000
        for _ in range(1000):  # 1 GB of rows unpacked
            out.write(squeeze.compress(block))
        out.write(squeeze.flush())
    assert path.stat().st_size < 5_000_000
    with gzip.open(path) as unpacked:
        assert unpacked.read(9) == b"id,label\n"
    result = score_in_subprocess(path)
    assert "unpacks to more than the limit" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_csv_with_one_enormous_field_is_refused(tmp_path):
    path = tmp_path / "long-line.csv"
    path.write_bytes(b"id,label\n" + b"x" * 100_000_000 + b",cat\n")
    result = score_in_subprocess(path)
    assert "too long to read" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_csv_with_far_more_rows_than_the_task_is_refused_before_parsing(tmp_path):
    path = tmp_path / "many-rows.csv"
    path.write_bytes(b"id,label\n" + b"t0001,cat\n" * 3_000_000)
    result = score_in_subprocess(path)
    assert result["message"].startswith("The file has 3,000,000 lines after the header")
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_a_few_extra_rows_still_get_the_precise_id_message(tmp_path):
    ids = [f"t{i:04d}" for i in range(TEST_ROWS)]
    path = tmp_path / "dupes.parquet"
    pq.write_table(pa.table({"id": [*ids, "t0003"], "label": ["cat"] * (TEST_ROWS + 1)}), path)
    result = score_in_subprocess(path)
    assert "1 id appears more than once (2 rows)" in result["message"]


@pytest.mark.parametrize(("value", "expected"), [(None, 1024 * 1024), ("300", 300 * 1024)])
def test_worker_children_are_recycled_past_a_memory_limit(value, expected):
    # Celery replaces a pool child whose memory passed worker_max_memory_per_child (KiB).
    env = {k: v for k, v in os.environ.items() if k != "WORKER_MAX_MEMORY_PER_CHILD_MB"}
    if value is not None:
        env["WORKER_MAX_MEMORY_PER_CHILD_MB"] = value
    code = (
        "import django; django.setup()\n"
        "from jobs.celery import app\n"
        "print(app.conf.worker_max_memory_per_child)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert int(done.stdout.strip().splitlines()[-1]) == expected


def test_columns_declaring_more_bytes_than_the_task_needs_are_refused_from_the_footer(tmp_path):
    # 700 distinct 100 KB ids (70 MB of text) for a 1,000-row task: over its 65.6 MiB budget.
    ids = [f"t{i:04d}" + os.urandom(50_000).hex() for i in range(700)]
    path = tmp_path / "wide-ids.parquet"
    pq.write_table(
        pa.table({"id": ids, "label": ["cat"] * 700}),
        path,
        compression="zstd",
        use_dictionary=False,
    )
    result = score_in_subprocess(path)
    assert "unpack to more than 65.6 MiB" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_dictionary_text_is_counted_row_by_row_only_when_its_bound_does_not_fit(monkeypatch):
    # What dictionary-encoded text takes expanded is bounded by each dictionary's longest
    # value times its rows; the exact count over the rows decides only above the limit.
    from common.refusals import SubmissionInvalid
    from scoring.core import bounds

    rows, limit = 1000, 10_000

    def labels(dictionary: list[str], index: int) -> pa.Table:
        indices = pa.array(np.full(rows, index, np.int32))
        return pa.table({"label": pa.DictionaryArray.from_arrays(indices, pa.array(dictionary))})

    exact = bounds.dictionary_bytes
    with monkeypatch.context() as patched:
        patched.setattr(bounds, "dictionary_bytes", lambda table: pytest.fail("counted"))
        bounds.refuse_expanded(labels(["cat", "dog"], 1), 0, limit)  # 7,000 bytes at most
    with pytest.raises(SubmissionInvalid, match="unpack to more than"):
        bounds.refuse_expanded(labels(["cat", "dog"], 1), 0, 6_999)
    # A long value that no row uses: the bound is over, the exact count is 7,000: accepted.
    assert exact(labels(["x" * 10**6, "cat"], 1)) == 7_000
    bounds.refuse_expanded(labels(["x" * 10**6, "cat"], 1), 0, limit)
    bounds.refuse_expanded(labels(["x" * 10**6, "cat"], 1), limit - 7_000, limit)
    # ... on every row: a gigabyte expanded, refused.
    with pytest.raises(SubmissionInvalid, match="unpack to more than"):
        bounds.refuse_expanded(labels(["x" * 10**6, "cat"], 0), 0, limit)
    with pytest.raises(SubmissionInvalid, match="unpack to more than"):
        bounds.refuse_expanded(labels(["x" * 10**6, "cat"], 1), limit - 6_999, limit)
