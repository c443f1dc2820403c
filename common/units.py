"""Byte sizes as the platform states them: binary units (KiB, MiB, GiB = 1024-based), the
unit of every limit the README and the settings give (``SUBMISSION_MAX_BYTES`` = 200 MiB,
``ALGORITHM_MEMORY_MB`` in MiB). One home, so a message never says 209.7 MB for a 200 MiB cap."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def byte_size(n: int) -> str:
    """``999 bytes``, ``1.5 KiB``, ``200 MiB``, ``68.8 MiB``: one decimal, none when whole."""
    if n < 1024:
        return f"{n:,} bytes"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            break
    text = f"{value:,.1f}".removesuffix(".0")
    return f"{text} {unit}"


def mib(n: int) -> str:
    """A limit given in MiB (the ``*_MB`` settings) as a participant reads it: ``4096 MiB``."""
    return f"{n:,} MiB".replace(",", "")
