"""Scoring on several threads (``common.parallel``) gives exactly what one thread gives.

Large submissions are split between threads (ids, values, the scatter into solution order,
OPIS, the line count of a CSV). The split is forced here on small files: every part
boundary, and a pool of two threads whatever this machine's core count (``pa.cpu_count``
is patched: it decides only how many threads the pool has). Results are compared exactly,
not within a tolerance.
"""

from __future__ import annotations

import io
import multiprocessing
import threading

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import common.parallel as parallel
from scoring.core import (
    SubmissionInvalid,
    save_predictions,
    score_file,
    solution_from_table,
)
from scoring.core.bounds import csv_lines
from scoring.core.opis import GRID_STEPS, threshold_grid

CLASSES = ["ant", "bee", "cat", "dog", "eel"]
N = 3001  # not a multiple of any part or block size


@pytest.fixture
def one_thread(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 1 << 62)


@pytest.fixture
def threads(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 1)
    monkeypatch.setattr(parallel.pa, "cpu_count", lambda: 3)
    assert parallel.threads() == 3


def make_solution(ids: list[str]):
    rng = np.random.default_rng(5)
    n = len(ids)
    table = pa.table(
        {
            "id": ids,
            "label": pa.array(CLASSES).take(pa.array(rng.integers(0, len(CLASSES), n))),
            "split": np.where(rng.random(n) < 0.3, "public", "private"),
        }
    )
    return solution_from_table(table, kind="classification", classes=CLASSES)


def make_submission(ids: list[str], order: np.ndarray) -> pa.Table:
    """Probabilities with ties: a quarter of the values sit exactly on OPIS thresholds."""
    rng = np.random.default_rng(6)
    n = len(ids)
    proba = rng.dirichlet(np.ones(len(CLASSES)), n)
    grid = threshold_grid(0.05, 0.95)
    on_grid = rng.random(n) < 0.25
    proba[on_grid, 0] = grid[rng.integers(0, GRID_STEPS + 1, int(on_grid.sum()))]
    proba[on_grid, 1:] = (1 - proba[on_grid, :1]) / (len(CLASSES) - 1)
    columns = {"id": pa.array(ids), "label": pa.array(CLASSES).take(pa.array(proba.argmax(1)))}
    columns.update({f"proba_{c}": proba[:, j] for j, c in enumerate(CLASSES)})
    return pa.table(columns).take(pa.array(order))


def as_parquet(table: pa.Table) -> io.BytesIO:
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=700)  # several row groups and chunks
    out.seek(0)
    return out


def as_csv(table: pa.Table) -> io.BytesIO:
    out = io.BytesIO()
    pacsv.write_csv(table, out)
    out.seek(0)
    return out


def score_both(request, solution, make_file):
    """Score one file on one thread, then on three; both results."""
    results = []
    for fixture in ("one_thread", "threads"):
        request.getfixturevalue(fixture)
        results.append(score_file(make_file(), solution))
    return results


NUMBERED = [f"id-{i:06d}" for i in range(N)]  # the integer path of the id index
OPAQUE = [f"{(i * 7919) % 10007:x}/{i}" for i in range(N)]  # the hash probe


@pytest.mark.parametrize("ids", [NUMBERED, OPAQUE], ids=["numbered", "opaque"])
@pytest.mark.parametrize("write", [as_parquet, as_csv], ids=["parquet", "csv"])
def test_threaded_scoring_equals_one_thread(request, ids, write):
    solution = make_solution(ids)
    shuffled = np.random.default_rng(7).permutation(len(ids))
    table = make_submission(ids, shuffled)
    serial, threaded = score_both(request, solution, lambda: write(table))
    assert threaded.metrics == serial.metrics  # exactly, OPIS included
    assert serial.metrics["public"]["opis"] is not None
    for name in ("pred", "proba"):
        np.testing.assert_array_equal(
            getattr(threaded.aligned, name), getattr(serial.aligned, name)
        )
    assert save_predictions(threaded.aligned) == save_predictions(serial.aligned)
    for split, curves in serial.curves.items():
        np.testing.assert_array_equal(threaded.curves[split].group_f1, curves.group_f1)

    # The stored predictions are in the solution's order: as the file in that order gives.
    in_order = score_file(write(make_submission(ids, np.arange(len(ids)))), solution)
    np.testing.assert_array_equal(threaded.aligned.pred, in_order.aligned.pred)
    np.testing.assert_array_equal(threaded.aligned.proba, in_order.aligned.proba)
    assert threaded.metrics == in_order.metrics


def refusal(request, fixture: str, solution, table: pa.Table) -> str:
    request.getfixturevalue(fixture)
    with pytest.raises(SubmissionInvalid) as caught:
        score_file(as_parquet(table), solution)
    return caught.value.message


@pytest.mark.parametrize("ids", [NUMBERED, OPAQUE], ids=["numbered", "opaque"])
def test_threaded_refusals_keep_their_messages(request, ids):
    solution = make_solution(ids)
    table = make_submission(ids, np.random.default_rng(8).permutation(len(ids)))
    column = table.column_names.index("id")
    duplicated = table.set_column(
        column, "id", pa.array([*table["id"].to_pylist()[:-1], table["id"][0].as_py()])
    )
    proba = table["proba_ant"].to_numpy().copy()
    proba[N // 2] = np.nan
    at = table.column_names.index("proba_ant")
    bad_value = table.set_column(at, "proba_ant", pa.array(proba))
    both = duplicated.set_column(at, "proba_ant", pa.array(proba))
    for bad in (duplicated, bad_value, both):
        assert refusal(request, "threads", solution, bad) == refusal(
            request, "one_thread", solution, bad
        )
    # Bad ids and bad values: the ids' problem is the one told, as on one thread.
    assert refusal(request, "threads", solution, both).startswith("The ids do not match")
    assert "NaN" in refusal(request, "threads", solution, bad_value)


def test_line_count_is_the_same_on_threads(request):
    data = pa.py_buffer(b"id,label\r\n" + b"a,b\n" * 5000 + b"c,d\r\n" * 777 + b"e,f")
    request.getfixturevalue("one_thread")
    serial = csv_lines(data)
    request.getfixturevalue("threads")
    assert csv_lines(data) == serial == 1 + 5000 + 777 + 1


def test_results_come_back_in_order(threads):
    assert parallel.run_all([lambda i=i: i * i for i in range(7)]) == [i * i for i in range(7)]
    # 4 blocks of 3 rows in up to 6 parts: a block a part
    assert parallel.map_rows(lambda rows: (rows.start, rows.stop), 10, align=3) == [
        (0, 3),
        (3, 6),
        (6, 9),
        (9, 10),
    ]


@pytest.mark.parametrize("n", [0, 1, 5, 64, 1000, 1001])
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
@pytest.mark.parametrize("align", [1, 7, 64])
def test_parts_cover_the_rows_once_on_block_boundaries(n, parts, align):
    slices = parallel.split_rows(n, parts, align)
    assert sum(s.stop - s.start for s in slices) == n
    assert [s.start for s in slices] == [0, *(s.stop for s in slices[:-1])]
    assert all(s.start % align == 0 for s in slices)
    assert len(slices) <= max(parts, 1)


def test_an_error_is_raised_after_every_piece_has_ended(threads):
    started, ended = threading.Event(), threading.Event()

    def first():
        started.wait(timeout=30)  # the second piece is running on the pool
        raise ValueError("first")

    def second():
        started.set()
        ended.wait(timeout=0.2)  # still running when the first raises
        ended.set()
        raise KeyError("second")

    with pytest.raises(ValueError, match="first"):  # the first call's error, not the other
        parallel.run_all([first, second])
    assert started.is_set() and ended.is_set()  # not left running on the caller's arrays
    with pytest.raises(KeyError):
        parallel.run_all([lambda: 1, lambda: {}["missing"]])


def test_pieces_not_started_are_run_here_or_not_at_all(threads):
    ran = []
    block = threading.Event()

    def slow():
        block.wait(timeout=30)
        ran.append("slow")

    def quick(name):
        ran.append(name)

    # The pool's thread(s) are held by ``slow``; the caller runs the rest itself.
    workers = parallel._executor()._max_workers
    calls = [lambda: quick("first")] + [slow] * workers + [lambda: quick("queued")]
    calls[0] = lambda: (quick("first"), block.set())
    assert len(parallel.run_all(calls)) == len(calls)
    assert sorted(ran) == sorted(["first", "queued"] + ["slow"] * workers)

    running = threading.Event()

    def held():
        running.set()
        block.wait(timeout=0.5)  # still running when the caller fails and cancels

    def fails():
        running.wait(timeout=30)
        raise ValueError("first")

    ran.clear()
    block.clear()
    with pytest.raises(ValueError):
        parallel.run_all([fails] + [held] * workers + [lambda: quick("queued")])
    assert "queued" not in ran  # a failure cancels what has not started


def test_work_on_the_pool_splits_no_further(threads):
    """A piece on the pool runs its own parts itself: no wait for the pool it occupies."""

    def nested(_):
        return parallel.threads(), parallel.map_rows(lambda rows: rows.stop - rows.start, 100)

    results = parallel.run_all([lambda: nested(0), lambda: nested(1), lambda: nested(2)])
    assert results[0] == (3, [17] * 5 + [15])  # the caller's thread splits: 2 parts a thread
    assert results[1:] == [(1, [100]), (1, [100])]


def _in_child(queue):
    queue.put(parallel.run_all([lambda: "parent's pool is not used", lambda: 2]))


def test_a_forked_worker_gets_its_own_pool(threads):
    parallel.run_all([lambda: 1, lambda: 2])  # the pool exists before the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == ["parent's pool is not used", 2]


@pytest.mark.parametrize("ids", [NUMBERED, OPAQUE], ids=["numbered", "opaque"])
def test_a_cold_load_scores_and_refuses_as_score_file_and_leaves_no_thread(tmp_path, ids):
    """``score_file_loading`` (a cold ``score_file``: the file read while the solution loads,
    pyarrow's import of pandas on a thread of its own) gives ``score_file``'s result and
    refusal, and every thread it started has ended when it returns, refused or not."""
    from scoring.core import score_file_loading

    solution = make_solution(ids)
    table = make_submission(ids, np.random.default_rng(9).permutation(len(ids)))
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    good.write_bytes(as_parquet(table).getvalue())
    proba = table["proba_ant"].to_numpy().copy()
    proba[N // 3] = np.nan
    at = table.column_names.index("proba_ant")
    bad.write_bytes(as_parquet(table.set_column(at, "proba_ant", pa.array(proba))).getvalue())
    before = set(threading.enumerate())

    result, loaded = score_file_loading(good, lambda: solution, test_rows=N)
    assert loaded is solution
    assert result.metrics == score_file(good, solution).metrics
    with pytest.raises(SubmissionInvalid) as cold:
        score_file_loading(bad, lambda: solution, test_rows=N)
    with pytest.raises(SubmissionInvalid) as warm:
        score_file(bad, solution)
    assert cold.value.message == warm.value.message
    left = [t for t in set(threading.enumerate()) - before if "pyarrow-pandas" in t.name]
    assert left == []
