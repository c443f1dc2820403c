"""Statistics of the living benchmark (issue 26, DESIGN §12): numpy only, no Django.

Modules:
    additive            the additive two-way model (mean + algorithm + task + interaction)
                        over the observed cells of a matrix, many samples in one fit
    decomposition       what is the method and what is the data: effects of a transfer
                        matrix, the interaction's share, each team's home advantage
    transfer_bootstrap  the decomposition's resamples: rows within tasks, task weights
    first               who is first: P(first), rank intervals and groups of a track
    frontier            quality against CPU time: the Pareto frontier
    intervals           the percentile interval, resample chunks, the input checks

Definitions and formulas: docs/benchmark-statistics.md.
"""
