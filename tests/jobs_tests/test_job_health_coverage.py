"""``jobs.health``'s measure of how long a queue was full: the seconds of a window covered by
at least ``count`` job spans at once, against a brute-force count second by second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.health import _seconds_at_least

T0 = datetime(2026, 1, 1, tzinfo=UTC)
spans_st = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 30)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    spans=spans_st,
    window=st.tuples(st.integers(0, 40), st.integers(0, 50)),
    count=st.integers(1, 3),
)
def test_full_seconds_match_a_second_by_second_count(spans, window, count) -> None:
    start, end = window[0], window[0] + window[1]
    expected = sum(
        1 for t in range(start, end) if sum(1 for a, b in spans if a <= t < b) >= count
    )
    got = _seconds_at_least(
        [(T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)) for a, b in spans],
        start=T0 + timedelta(seconds=start),
        end=T0 + timedelta(seconds=end),
        count=count,
    )
    assert got == expected
