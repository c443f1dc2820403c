"""AutoGluon baselines: their runs (queue, claim, outcome) and the baseline algorithm."""
