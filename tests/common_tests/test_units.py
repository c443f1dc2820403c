"""Byte sizes are stated in binary units, as the README and the settings give every limit."""

import pytest

from common.units import byte_size, mib


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (1023, "1,023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (200 * 1024 * 1024, "200 MiB"),  # SUBMISSION_MAX_BYTES's default
        (10 * 1024 * 1024, "10 MiB"),
        (int(68.8e6), "65.6 MiB"),
        (3 * 1024**3, "3 GiB"),
        (5 * 1024**5, "5,120 TiB"),
    ],
)
def test_byte_size(n: int, text: str) -> None:
    assert byte_size(n) == text


def test_limits_in_mib_read_without_thousands_separators() -> None:
    assert mib(4096) == "4096 MiB"
