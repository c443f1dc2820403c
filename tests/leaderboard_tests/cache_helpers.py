"""Helpers of test_cache.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations


class FakeClock:
    """The board cache's clock (the ``time`` of ``leaderboard.cache.board_cache`` and of
    ``leaderboard.cache.connection``), moved by the test: the grace and the rush windows
    are wall-clock seconds, which a loaded machine stretches."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    def time_ns(self) -> int:
        return int(self.now * 1e9)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


