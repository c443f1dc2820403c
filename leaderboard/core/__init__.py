"""The ranking core: pure functions over frozen dataclasses and numpy arrays.

No Django import anywhere in this package (an import-linter contract checks it), so every
function here can be tested and benchmarked without settings or a database.

Modules:
    ranking    per-task ranks, a team's best submission, final selection
    track      track standings (mean over all tasks) and the matrix relative to a baseline
    bootstrap  paired bootstrap: score and rank intervals, the group tied with the best
    shakeup    public-to-private rank changes
    gate       the champion gate: may a new entry replace the champion
    (docs/organizers/champion-gate.md)

The SVG charts, the CSV export and the flips live in the neutral ``common`` package, which
scoring uses too.
"""
