"""The bootstrap's sums per group of 0/1 columns (accuracy, F1) are counted with integers
in row blocks on every thread (``leaderboard.core.row_sums._group_counts``): the same
numbers, bit for bit, as the float sums of 0/1 weights it replaced (kept below as the
reference), and so the same resamples, intervals and P(first)."""

import numpy as np
import pytest

from common import parallel
from kinds.classification import Accuracy
from kinds.matching import F1
from kinds.regression import RSquared, SquaredError
from leaderboard.core import bootstrap, row_sums
from leaderboard.core.bootstrap import _prepare, bootstrap_leaderboard, point_scores
from leaderboard.core.resampling import block_assignment, resample_counts
from leaderboard.core.transfer import transfer_cell


def weighted_group_sums(y, preds, statistic, codes, n_groups, *, mask=None):
    """The sums as the bootstrap made them before counting: the selected rows copied out
    and prepared, a float64 column per row, one weighted ``bincount`` per column."""
    if mask is not None:
        y, preds = statistic.prepare(y[mask], [p[mask] for p in preds])
    n_entries, width = len(preds), statistic.per_entry
    n_columns = width * n_entries + statistic.shared
    sums = np.zeros((n_groups, n_columns + 1), dtype=np.float64)
    sums[:, n_columns] = np.bincount(codes, minlength=n_groups)
    entry = np.empty((width, y.shape[0]), dtype=np.float64)
    for e, p in enumerate(preds):
        statistic.entry_columns(y, p, entry)
        for j, column in enumerate(entry):
            sums[:, e * width + j] += np.bincount(codes, weights=column, minlength=n_groups)
    shared = np.empty((statistic.shared, y.shape[0]), dtype=np.float64)
    statistic.shared_columns(y, shared)
    for j, column in enumerate(shared):
        sums[:, n_entries * width + j] += np.bincount(codes, weights=column, minlength=n_groups)
    return sums


def case(kind, *, n, entries, seed=0):
    rng = np.random.default_rng(seed)
    shares = np.linspace(0.9, 0.5, entries)
    if kind == "classification":
        y = rng.integers(0, 4, n)
        return y, [np.where(rng.random(n) < a, y, (y + 1) % 4) for a in shares]
    y = (rng.random(n) < 0.3).astype(np.int64)
    return y, [np.where(rng.random(n) < a, y, 1 - y) for a in shares]


STATISTICS = {"classification": Accuracy, "matching": F1}


@pytest.mark.parametrize("kind", ["classification", "matching"])
@pytest.mark.parametrize("entries", [1, 2, 5, 9])
@pytest.mark.parametrize("n_groups", [1, 3, 4096, 30_000, 100_000])
def test_counted_sums_are_the_weighted_sums_bit_for_bit(monkeypatch, kind, entries, n_groups):
    # Small row blocks and a low threshold for threads: many blocks, on both threads (and
    # 100,000 groups: too many to count in the cache, summed with weights as before).
    monkeypatch.setattr(row_sums, "_COUNT_ROWS", 777)
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 5_000)
    y, preds = case(kind, n=60_001, entries=entries)
    statistic = STATISTICS[kind]()
    y, preds = statistic.prepare(y, preds)
    codes = np.random.default_rng(1).integers(0, n_groups, y.shape[0])
    counted = row_sums._group_sums(y, preds, statistic, codes, n_groups)[0]
    expected = weighted_group_sums(y, preds, statistic, codes, n_groups)
    assert counted.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(counted, expected)


@pytest.mark.parametrize("n_columns", [1, 2, 5, 8, 9, 19, 201])
@pytest.mark.parametrize("n_groups", [1, 4096, 2**17, 10**6])
def test_each_column_is_counted_in_exactly_one_pass_of_bounded_cells(n_columns, n_groups):
    passes = row_sums._count_passes(n_columns, n_groups)
    assert [j for first, stop in passes for j in range(first, stop)] == list(range(n_columns))
    widths = [stop - first for first, stop in passes]
    assert max(widths) - min(widths) <= 1  # evenly split
    assert max(widths) <= row_sums._PATTERN_BITS
    if max(widths) > 1:
        assert n_groups << max(widths) <= row_sums._PATTERN_CELLS


def bootstrap_weighted(monkeypatch, **kwargs):
    """The bootstrap as it ran with the weighted sums (and the rows' own point scores)."""
    with monkeypatch.context() as patched:
        patched.setattr(row_sums, "_group_counts", weighted_group_sums)
        return bootstrap_leaderboard(**kwargs)


@pytest.mark.parametrize("kind", ["classification", "matching"])
@pytest.mark.parametrize("block", [2**18, 999], ids=["one-block", "blocks-on-threads"])
def test_block_bootstrap_results_are_unchanged(monkeypatch, kind, block):
    # The public rows are counted where they are (no copy of them), a block at a time.
    monkeypatch.setattr(row_sums, "_COUNT_ROWS", block)
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 5_000)
    y, preds = case(kind, n=50_000, entries=4, seed=3)
    public = np.random.default_rng(4).random(y.size) < 0.5
    kwargs = dict(
        y=y, preds=preds, kind=kind, rows=public, n_resamples=300, seed=7, keep_samples=True
    )
    kwargs["is_baseline"] = [False, False, False, True]
    counted = bootstrap_leaderboard(**kwargs)
    weighted = bootstrap_weighted(monkeypatch, **kwargs)
    np.testing.assert_array_equal(counted.samples, weighted.samples)
    assert counted.entries == weighted.entries  # intervals, ranks, P(first) inputs, ties
    assert counted.best == weighted.best and counted.tied_with_best == weighted.tied_with_best
    # The point scores, now the groups' counts added up, are the rows' own.
    points = point_scores(y=y, preds=preds, kind=kind, rows=public)
    assert [e.score for e in counted.entries] == points.tolist()


@pytest.mark.parametrize("kind", ["classification", "matching"])
def test_entity_groups_results_are_unchanged(monkeypatch, kind):
    y, preds = case(kind, n=5_000, entries=3, seed=5)
    groups = np.random.default_rng(6).integers(0, 700, y.size) * 3 + 1  # arbitrary ids
    kwargs = dict(y=y, preds=preds, kind=kind, groups=groups, n_resamples=200, keep_samples=True)
    counted = bootstrap_leaderboard(**kwargs)
    weighted = bootstrap_weighted(monkeypatch, **kwargs)
    np.testing.assert_array_equal(counted.samples, weighted.samples)
    assert counted.entries == weighted.entries


def test_a_mask_selects_the_rows_an_index_array_does(monkeypatch):
    # A mask is gathered in parts on every thread, and blocks of those; an index array as
    # numpy indexes.
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 1_000)
    monkeypatch.setattr(bootstrap, "_SELECT_ROWS", 999)
    y, preds = case("classification", n=20_011, entries=2, seed=8)
    rows = np.random.default_rng(9).random(y.size) < 0.37
    statistic = Accuracy()
    by_mask = _prepare(y, preds, statistic, rows)
    by_index = _prepare(y, preds, statistic, np.flatnonzero(rows))
    for a, b in zip([by_mask[0], *by_mask[1]], [by_index[0], *by_index[1]], strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no rows to resample"):
        _prepare(y, preds, statistic, np.zeros(y.size, dtype=bool))
    with pytest.raises(ValueError, match="rows mask has shape"):
        _prepare(y, preds, statistic, rows[:-1])


def test_a_transfer_cell_is_unchanged(monkeypatch):
    y, (pred, baseline) = case("classification", n=40_000, entries=2, seed=10)
    public = np.random.default_rng(11).random(y.size) < 0.5
    kwargs = dict(y=y, pred=pred, baseline_pred=baseline, kind="classification", rows=public)
    counted = transfer_cell(**kwargs)
    with monkeypatch.context() as patched:
        patched.setattr(row_sums, "_group_counts", weighted_group_sums)
        weighted = transfer_cell(**kwargs)
    np.testing.assert_array_equal(counted.resamples, weighted.resamples)
    assert (counted.score, counted.baseline, counted.delta) == (
        weighted.score,
        weighted.baseline,
        weighted.delta,
    )
    assert (counted.delta_low, counted.delta_high, counted.flat) == (
        weighted.delta_low,
        weighted.delta_high,
        weighted.flat,
    )


def test_the_block_codes_of_a_large_board_count_like_any_codes():
    y, preds = case("matching", n=30_000, entries=2, seed=12)
    statistic = F1()
    y, preds = statistic.prepare(y, preds)
    codes = block_assignment(n=y.size, seed=0)  # uint16, read-only
    counted = row_sums._group_sums(y, preds, statistic, codes, 4096)[0]
    np.testing.assert_array_equal(
        counted, weighted_group_sums(y, preds, statistic, codes.astype(np.intp), 4096)
    )


def test_integer_resamples_multiplied_in_small_chunks_are_the_whole_product(monkeypatch):
    # Integer sums are exact: the resamples' counts are multiplied a few resamples at a time
    # (in the cache) with the same results as all of them at once.
    y, preds = case("classification", n=40_000, entries=3, seed=13)
    kwargs = dict(y=y, preds=preds, kind="classification", n_resamples=250, keep_samples=True)
    small = bootstrap_leaderboard(**kwargs)
    with monkeypatch.context() as patched:
        patched.setattr(row_sums, "_CACHED_COUNTS_BYTES", 2**40)
        whole = bootstrap_leaderboard(**kwargs)
    np.testing.assert_array_equal(small.samples, whole.samples)
    assert small.entries == whole.entries


def test_real_valued_resamples_are_the_product_of_all_the_counts_at_once():
    # Float sums depend on the order BLAS adds them in: RMSE's resamples are still the
    # product of every resample's counts at once (one chunk), as before.
    rng = np.random.default_rng(14)
    y = rng.normal(size=40_000)
    preds = [y + rng.normal(scale=s, size=y.size) for s in (0.5, 1.0)]
    result = bootstrap_leaderboard(
        y=y, preds=preds, kind="regression", n_resamples=200, seed=2, keep_samples=True
    )
    statistic = SquaredError()
    codes = block_assignment(n=y.size, seed=2)
    sums = weighted_group_sums(y, preds, statistic, codes.astype(np.intp), 4096)
    counts = resample_counts(seed=2, n_resamples=200, n=4096).astype(np.float64)
    drawn = counts @ sums
    expected = statistic.scores(drawn[:, :2].reshape(200, 2, 1), drawn[:, 2:2], drawn[:, -1:])
    np.testing.assert_array_equal(result.samples, expected)


def test_a_value_a_matching_statistic_refuses_is_named_as_before(monkeypatch):
    # Counted in place, the first block to hold a bad value is not the first array that
    # holds one: the words are the whole selection's, as they were.
    monkeypatch.setattr(row_sums, "_COUNT_ROWS", 1_000)
    y, preds = case("matching", n=40_000, entries=2, seed=15)
    public = np.ones(y.size, dtype=bool)
    bad_pred, bad_y = preds[1].copy(), y.copy()
    bad_pred[10] = 2  # in the first block
    bad_y[30_000] = 3  # in a later one
    with pytest.raises(ValueError, match=r"^y must hold only 0 and 1"):
        bootstrap_leaderboard(y=bad_y, preds=[preds[0], bad_pred], kind="matching", rows=public)
    with pytest.raises(ValueError, match=r"^preds\[1\] must hold only 0 and 1"):
        bootstrap_leaderboard(y=y, preds=[preds[0], bad_pred], kind="matching", rows=public)
    public[10] = False  # a bad value outside the selection is no value of it
    result = bootstrap_leaderboard(y=y, preds=[preds[0], bad_pred], kind="matching", rows=public)
    assert result.n_rows == y.size - 1


# --- real-valued columns (RMSE, R²): the chunks' pieces on the threads, added in order ---


def sequential_sums(y, preds, statistic, codes, n_groups):
    """The group sums and the sums over the rows as one thread made them, chunk after
    chunk (``row_sums._group_sums`` and ``row_sums.point`` before the threads)."""
    chunk, n_entries, width = row_sums._ROW_CHUNK, len(preds), statistic.per_entry
    n_columns = width * n_entries + statistic.shared
    sums = np.zeros((n_groups, n_columns + 1), dtype=np.float64)
    totals = np.zeros(n_columns, dtype=np.float64)
    for r0 in range(0, y.shape[0], chunk):
        part = slice(r0, r0 + chunk)
        at, truth = codes[part], y[part]
        sums[:, n_columns] += np.bincount(at, minlength=n_groups)
        for e, p in enumerate(preds):
            entry = np.empty((width, at.shape[0]), dtype=np.float64)
            statistic.entry_columns(truth, p[part], entry)
            for j, column in enumerate(entry):
                sums[:, e * width + j] += np.bincount(at, weights=column, minlength=n_groups)
            totals[e * width : (e + 1) * width] += statistic.entry_sums(truth, p[part])
        shared = np.empty((statistic.shared, at.shape[0]), dtype=np.float64)
        statistic.shared_columns(truth, shared)
        for j, column in enumerate(shared):
            sums[:, n_entries * width + j] += np.bincount(at, weights=column, minlength=n_groups)
        totals[n_entries * width :] += statistic.shared_sums(truth)
    return sums, totals


def regression_case(n, entries, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n) * 1e3 + 5  # magnitudes that round differently in another order
    return y, [y + rng.standard_cauchy(size=n) * s for s in np.linspace(0.1, 3.0, entries)]


@pytest.mark.parametrize("metric", ["rmse", "r2"])
@pytest.mark.parametrize("entries", [1, 3])
@pytest.mark.parametrize("held", [2**26, 0], ids=["pieces-at-once", "one-piece-at-a-time"])
def test_real_valued_sums_on_the_threads_are_the_sequential_sums_bit_for_bit(
    monkeypatch, metric, entries, held
):
    monkeypatch.setattr(row_sums, "_ROW_CHUNK", 1_013)  # many chunks, uneven pieces
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 1_000)
    monkeypatch.setattr(row_sums, "_HELD_BYTES", held)  # 0: as with very many groups
    y, preds = regression_case(20_011, entries, seed=16)
    statistic = RSquared() if metric == "r2" else SquaredError()
    y, preds = statistic.prepare(y, preds)
    codes = np.random.default_rng(17).integers(0, 4096, y.size)
    sums, totals = row_sums._weighted_sums(y, preds, statistic, codes, 4096)
    expected_sums, expected_totals = sequential_sums(y, preds, statistic, codes, 4096)
    np.testing.assert_array_equal(sums, expected_sums)
    np.testing.assert_array_equal(totals, expected_totals)


@pytest.mark.parametrize("metric", ["rmse", "r2"])
def test_real_valued_bootstrap_results_are_unchanged(monkeypatch, metric):
    monkeypatch.setattr(row_sums, "_ROW_CHUNK", 4_099)
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 1_000)
    y, preds = regression_case(30_000, 3, seed=18)
    public = np.random.default_rng(19).random(y.size) < 0.6
    kwargs = dict(
        y=y, preds=preds, kind="regression", metric=metric, rows=public, n_resamples=200
    )
    threaded = bootstrap_leaderboard(**kwargs, keep_samples=True)
    with monkeypatch.context() as patched:
        patched.setattr(row_sums, "_weighted_sums", sequential_sums)
        sequential = bootstrap_leaderboard(**kwargs, keep_samples=True)
    np.testing.assert_array_equal(threaded.samples, sequential.samples)
    assert threaded.entries == sequential.entries
    # the point scores as point() gives them on the rows (chunk by chunk)
    points = point_scores(y=y, preds=preds, kind="regression", metric=metric, rows=public)
    assert [e.score for e in threaded.entries] == points.tolist()


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        (np.array([0, 1, 1, 0]), False),
        (np.array([0, 1], dtype=np.uint8), False),
        (np.array([True, False]), False),
        (np.array([0.0, 1.0]), False),
        (np.array([0, 2]), True),
        (np.array([-1, 0]), True),
        (np.array([3], dtype=np.uint8), True),
        (np.array([0.0, 0.5]), True),
        (np.array([np.nan, 1.0]), True),
    ],
)
def test_a_matching_board_takes_0_and_1_of_any_type_and_refuses_anything_else(values, refused):
    y = np.array([0, 1] * (values.size // 2 + 1))[: values.size]
    if refused:
        with pytest.raises(ValueError, match=r"^preds\[0\] must hold only 0 and 1"):
            F1().prepare(y, [values])
    else:
        _, (prepared,) = F1().prepare(y, [values])
        assert prepared.dtype == bool and prepared.tolist() == values.astype(bool).tolist()


def test_a_board_of_many_entries_counts_in_bounded_memory(monkeypatch):
    """A hundred entries' 0/1 columns (201 for F1) are counted in passes whose cells stay
    within the bound, in one part when the parts' counts would pass it: the same sums."""
    monkeypatch.setattr(parallel, "MIN_SPLIT_ELEMENTS", 1_000)
    y, preds = case("matching", n=30_000, entries=100, seed=20)
    statistic = F1()
    y, preds = statistic.prepare(y, preds)
    codes = block_assignment(n=y.size, seed=0)
    passes = row_sums._count_passes(201, 4096)
    cells = 8 * sum(4096 << (stop - first) for first, stop in passes)
    assert all(4096 << (stop - first) <= row_sums._PATTERN_CELLS for first, stop in passes)
    most = row_sums._HELD_BYTES // cells
    assert len(parallel.row_parts(y.size, per_row=len(passes), most=most)) == 1
    counted = row_sums._group_sums(y, preds, statistic, codes, 4096)[0]
    expected = weighted_group_sums(y, preds, statistic, codes.astype(np.intp), 4096)
    np.testing.assert_array_equal(counted, expected)
