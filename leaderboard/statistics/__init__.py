"""The leaderboard's statistics on the Django side: the models and files in, the pure cores
(``leaderboard.core``) for the arithmetic (docs/developers/benchmark-statistics.md).

Modules:
    first            who is first, with what probability: P(first), rank intervals, groups
                     and the pairwise verdicts of a track's rows
    first_samples    a task's row resamples behind P(first), cached by prediction files
    rank_set_fields  a board's simultaneous rank sets and tiers, as entry fields
    consistency      the consistency columns of a task's board entries

The statistics read the models and the cores only: no board, board cache, champion,
transfer matrix or refresh (an import-linter contract, pyproject.toml). A board that shows
them asks here and keeps the answer itself (``leaderboard.boards.track_first``).
"""
