"""Small vectorized Arrow helpers shared by the solution loader and the aligner."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Column = pa.Array | pa.ChunkedArray


def is_text(type_: pa.DataType) -> bool:
    """String-like types, including dictionary-encoded strings (pandas categoricals)."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_string_view(type_)
    )


def as_string(column: Column) -> Column:
    """The column as ``pa.string()``; only for text or integer columns."""
    return column if column.type == pa.string() else column.cast(pa.string())


def index_of(values: Column, choices: list[str]) -> np.ndarray:
    """Position of each string value in ``choices`` as int32, -1 where absent or null."""
    found = pc.index_in(values, value_set=pa.array(choices, pa.string()))
    return np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int32)


def null_mask(column: Column) -> np.ndarray:
    """A numpy bool array, True where the column is null."""
    return np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
