"""The transfer matrix: every algorithm run on every task of a track, and what a benchmark
reads off it (docs/architecture.md §12).

Modules:
    matrix     the matrix of a track: its rows, columns and cells, read from the runs
    cells      one cell, computed and cached by the ids of the two prediction files
    baselines  each task's baseline runs and their states (``queued``, ``running``, ...)
    shown      the matrix as its reader is shown it (withheld cells, run scores, notes)
    benchmark  the decomposition (algorithm effects, task difficulty) and the quality/cost
               frontier fitted on the matrix
    api        ``tracks/<slug>/transfer/``

The transfer matrix and the champion are independent (an import-linter contract,
pyproject.toml): neither imports the other.
"""
