"""Helpers the tests and the benchmarks share (docs/decisions/0079-testkit.md): data builders
(task bundles, algorithm archives) and servers started for a run (the webhook receiver).

Product code never imports it (an import-linter contract in ``pyproject.toml``); the tests'
``conftest.py`` modules hold only fixtures, which may call it.
"""
