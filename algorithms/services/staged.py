"""What a run's ``/task`` folder was staged with: the folder, the test rows it holds and the
truth its output is checked and scored against.

A clean run's is the task itself (:func:`algorithms.services.execute.clean_stage`); a
profile may stage another (``RunProfile.stage``: a stress run's perturbed copies,
:mod:`algorithms.services.stress`), and its outcome reads ``context`` from the run's
``Ending``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algorithms.services.output import SolutionFile

OnChunk = Callable[[], None] | None


@dataclass(frozen=True)
class Staged:
    """``folder``: the written ``/task``; ``test_rows``: the rows of its ``test.parquet``;
    ``solution(work, on_chunk)``: the truth as a local file for the output check, written
    only once the sandbox has ended; ``context``: what the profile's outcome needs."""

    folder: Path
    test_rows: int
    solution: Callable[[Path, OnChunk], SolutionFile]
    context: Any = None
