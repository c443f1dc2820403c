"""A track's results as one table: its boards' rows and its transfer matrix's cells, for
export (docs/architecture.md §12).

Modules:
    export  the rows, their columns and who may read which split
    api     ``results.parquet``, ``results.csv`` and ``results/croissant.json``

The results sit above the boards and the transfer matrix they join; nothing in the domain
imports them (an import-linter contract, pyproject.toml).
"""
