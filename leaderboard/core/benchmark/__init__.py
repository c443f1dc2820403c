"""Statistics of the living benchmark (issues 26 and 38): numpy, scipy and
statsmodels, no Django.

Modules:
    additive            the additive two-way model (mean + algorithm + task + interaction)
                        over the observed cells of a matrix, many samples in one fit
    linear_model        the same model as statsmodels' OLS (sum-coded), with t intervals on
                        the residual degrees of freedom, or none and the reason
    decomposition       what is the method and what is the data: effects of a transfer
                        matrix, the interaction's share, each team's home advantage
    transfer_bootstrap  the decomposition's row noise: refits on the row resamples
    first               who is first: P(first) of a track, with its Monte Carlo error
    pairwise            which teams can be told apart: an interval for every pair of
                        track means from the pair's own paired differences (Bonferroni),
                        groups, rank intervals, verdicts
    frontier            quality against CPU time: the Pareto frontier
    intervals           the percentile interval, resample chunks, the input checks

Definitions, formulas and the coverage the tests measure: docs/developers/benchmark-statistics.md.
"""
