"""The one way to load a task's solution: parsed once per process, kept in a small cache.

Scoring, the submission insight, the leaderboard's bootstrap and ``score_file`` all read the
solution through :func:`solution_for_task`, so a solution is parsed by one code path and a
replaced solution file (a new name) is never served from the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from datasets.models import Task
from scoring.core import Solution, load_solution

SOLUTION_CACHE_SIZE = 4


@dataclass
class SolutionCache:
    """Loaded solutions of this process, keyed by task id and solution file name (LRU)."""

    size: int = SOLUTION_CACHE_SIZE
    items: OrderedDict[tuple[int, str], Solution] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, task: Task) -> Solution:
        key = (task.pk, task.solution.name)
        with self.lock:
            solution = self.items.get(key)
            if solution is not None:
                self.items.move_to_end(key)
                return solution
        with task.solution.open("rb") as handle:
            solution = load_solution(handle, kind=task.kind, classes=list(task.classes))
        with self.lock:
            self.items[key] = solution
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return solution


solution_cache = SolutionCache()


def solution_for_task(task: Task) -> Solution:
    """``task``'s parsed solution (cached per process; see the module docstring)."""
    return solution_cache.get(task)
