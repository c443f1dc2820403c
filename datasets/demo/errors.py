"""The error a demo builder raises when its public source cannot be obtained."""

from __future__ import annotations


class DemoSourceUnavailable(Exception):
    """The data a demo task is built from could not be read; the message says why.

    ``load_demo`` catches it, skips that one task and prints the message.
    """
