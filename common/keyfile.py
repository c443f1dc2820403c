"""A solution's key table (``common.idkeys``) stored beside it, so that scoring reads it
instead of making it again.

Ids of no numbered shape (UUIDs, free strings) are placed by their keys in a
:class:`~common.idkeys.KeyTable` of the solution's; making it costs 0.2-0.4 s at 3M ids,
on every cold ``score_file`` and every worker's first score of a task. The import proves
the ids distinct with that very table, so it writes it once, beside the solution
(:func:`keys_name`), and scoring maps it (:func:`load`).

The file is one int64 ``.npy`` array: a header (a magic number, the format, which is also
the version of the key function, the ids' count and byte width, a digest of the ids at
probe rows, the levels' sizes) and then the levels' slots. It is used only when the header
names the ids it is loaded for and the probe rows' keys find their own rows. Whatever it
holds, it can only make scoring slower, never change a score: a key found only says where
an id may be, every id is still confirmed byte for byte against the solution's own ids
(``idkeys.same_rows``), and anything not confirmed takes the exact path. A missing,
truncated, garbled or foreign file is ignored (the table is made as before).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePosixPath

import numpy as np
import pyarrow as pa

from common.idkeys import MAX_LEVELS, IdBytes, KeyTable, id_bytes, id_bytes_at, id_keys

MAGIC = 0x31454C4241545945  # "EYTABLE1" read as a little-endian int64
# The layout's and the key function's version: a file of another version is ignored.
# Raise it with any change to ``idkeys.id_keys``, ``KeyTable``'s slots or entries.
FORMAT = 1
SUFFIX = ".keys.npy"
_HEADER = 6  # magic, format, rows, width, digest, levels; then each level's bits
_PROBES = 257  # rows checked on load: the first, the last and evenly spread ones


def keys_name(solution_name: str) -> str:
    """The stored name of the key table of the solution stored as ``solution_name``
    (``tasks/t/solution.parquet`` -> ``tasks/t/solution.keys.npy``): one per solution
    file, so a new version's solution never meets an old version's table."""
    path = PurePosixPath(solution_name)
    return str(path.with_name(path.stem + SUFFIX))


def write(path: str | os.PathLike[str], ids: pa.Array, table: KeyTable | None = None) -> bool:
    """Write the file of ``ids``' key table at ``path`` (``table``: the table if already
    made, e.g. by the import's proof that the ids are distinct: then only the probe rows'
    bytes are read for the header, not a padded copy of every id), written level by level
    from the table's own arrays (no copy of the table in memory, nor a mapping of the file
    that would count the file's pages in the process's resident memory: 0.3 GB at 10M
    ids); False (nothing written) when the ids cannot be keyed."""
    if table is None:
        found = id_bytes(ids)
        if found is None:
            return False
        table = KeyTable.build(id_keys(found))
        if table is None:
            return False
        probes = _at_probes(found)
    else:
        probes = id_bytes_at(ids, _probe_rows(len(ids)))
        if probes is None:
            return False
    bits = [level_bits for level_bits, _ in table.levels]
    header = [MAGIC, FORMAT, len(ids), probes.width, _digest(probes), len(bits), *bits]
    size = len(header) + sum(slots.size for _, slots in table.levels)
    dtype = np.dtype("<i8")
    layout = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
    with open(path, "wb") as out:
        np.lib.format.write_array_header_1_0(out, {**layout, "shape": (size,)})
        for part in (np.array(header), *(slots for _, slots in table.levels)):
            out.write(np.ascontiguousarray(part, dtype=dtype).data)
    return True


def load(path: str | os.PathLike[str], found: IdBytes) -> KeyTable | None:
    """The key table stored at ``path`` for the ids ``found`` (``idkeys.id_bytes`` of the
    solution's ids), mapped from the file; None when there is no such file or it is not
    these ids' (module docstring): never an exception for what the file holds."""
    try:
        stored = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception:  # missing, or anything a garbled header raises (its dict is parsed)
        return None
    table = _levels(stored, found)
    if table is None or not _probes_find_themselves(table, found):
        return None
    return table


def _levels(stored: np.ndarray, found: IdBytes) -> KeyTable | None:
    """The levels of a stored array whose header names ``found``'s ids, or None."""
    if stored.dtype != np.dtype("<i8") or stored.ndim != 1 or stored.size < _HEADER:
        return None
    magic, version, rows, width, digest, count = (int(v) for v in stored[:_HEADER])
    n = found.rows.shape[0]
    wanted = (MAGIC, FORMAT, n, found.width, _digest(_at_probes(found)))
    if (magic, version, rows, width, digest) != wanted or not 0 < count <= MAX_LEVELS:
        return None
    if stored.size < _HEADER + count:
        return None
    bits = [int(b) for b in stored[_HEADER : _HEADER + count]]
    first = max(4, int(n - 1).bit_length() + 1)  # as KeyTable.build sizes its levels
    if bits[0] != first or any(not 4 <= b <= first for b in bits):
        return None
    start = _HEADER + count
    if stored.size != start + sum(1 << b for b in bits):
        return None
    levels = []
    for level_bits in bits:
        levels.append((level_bits, stored[start : start + (1 << level_bits)]))
        start += 1 << level_bits
    return KeyTable(levels)


def _probe_rows(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, num=min(n, _PROBES)).astype(np.int64))


def _at_probes(found: IdBytes) -> IdBytes:
    """``found``'s ids at the probe rows (``idkeys.id_bytes_at`` of the same rows)."""
    rows = _probe_rows(found.rows.shape[0])
    lengths = None if found.lengths is None else found.lengths[rows]
    return IdBytes(rows=np.ascontiguousarray(found.rows[rows]), lengths=lengths)


def _digest(probes: IdBytes) -> int:
    """A digest of the ids at the probe rows (their bytes and lengths), as an int64."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.ascontiguousarray(probes.rows).tobytes())
    if probes.lengths is not None:
        digest.update(probes.lengths.astype("<i4").tobytes())
    return int(np.frombuffer(digest.digest(), dtype="<i8")[0])


def _probes_find_themselves(table: KeyTable, found: IdBytes) -> bool:
    rows = _probe_rows(found.rows.shape[0])
    return bool(np.array_equal(table.find(id_keys(_at_probes(found))), rows))
