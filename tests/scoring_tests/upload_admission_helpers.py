"""Helpers of test_upload_admission.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations


class UntouchableBody:
    """A ``wsgi.input`` that must never be read."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, *args, **kwargs) -> bytes:
        self.reads += 1
        raise AssertionError("the upload body was read")

    readline = read


