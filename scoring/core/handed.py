"""Predictions read once and handed over as arrays: checked as untrusted, then scored.

A run's output check (``algorithms.output_check``) reads the run's file in a capped process
of its own and aligns it with the solution exactly as :func:`scoring.core.score_file` does;
it then writes what it aligned in :func:`save_predictions`' format. The worker scores those
arrays (:func:`score_handed`) instead of reading and aligning the file a second time (at 10M
rows, about half a second of every run).

That process parsed a hostile file, so what it wrote is read here as a stranger's bytes:

- the caller bounds the file's size (:func:`handed_size_limit`) before reading it;
- the zip's directory is found at its very end and is small (at most the five members'
  entries, whatever its end record or its zip64 record claims) before the zip is opened,
  so a forged directory of millions of entries is never parsed;
- the zip holds only the members :func:`save_predictions` writes, each stored (never
  compressed: its size is its size), once; each ``.npy`` header is read with numpy's header
  size bound, must be a plain little-endian number type of the member's exact length, and
  nothing is allocated before that; the members' CRCs are checked as they are read;
- the shapes are the solution's: ``pred`` one value per test row, the probabilities one
  column per class and the order of their rows a permutation of the rows;
- the values are ones the kind's reader could have given (``TaskKind.handed_problem``:
  class codes within [0, k), finite numbers, 0/1 matches, scores in [0, 1], cluster codes
  within [0, rows)), so no code can index past an array sized by it.

Anything else raises :class:`HandedInvalid`: the caller refuses the run with its words.
What passes scores bit for bit as the file itself does (``tests/scoring_tests/
test_core_handed.py``).
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np

from kinds.base import Values
from kinds.columns import FloatColumns, Probabilities
from scoring.core import ScoreResult
from scoring.core.align import Aligned
from scoring.core.metrics import evaluate
from scoring.core.predictions import stored_member
from scoring.core.solution import Solution

_VERSION = 2  # what ``save_predictions`` writes now
_MEMBERS = ("version", "pred", "proba_by_class", "proba_order", "score")
_CODES = (np.dtype("<i1"), np.dtype("<i2"), np.dtype("<i4"))  # ``_compact``'s types
_NUMBERS = np.dtype("<f8")
_HEADER_BYTES = 10_000  # numpy's own bound on a header it parses
_ZIP_BYTES_PER_MEMBER = 4096  # local and central headers, zip64 extras, the .npy header
_DIRECTORY_BYTES = 2048  # five entries of the central directory, with their zip64 extras
_END = struct.Struct("<4s4H2LH")  # the end of central directory record (no comment)
_END64 = struct.Struct("<4sQ2H2L4Q")  # the zip64 end record, just before its locator
_LOCATOR64 = struct.Struct("<4sLQL")


class HandedInvalid(ValueError):
    """The handed-over predictions are not what the check could have written."""


def handed_size_limit(*, rows: int, classes: int) -> int:
    """The most bytes :func:`save_predictions` writes for ``rows`` test rows and
    ``classes`` classes: int32 codes or float64 numbers, a float64 column per class and
    their int32 order, a float64 score, and each member's headers."""
    per_row = 8 + 8 * classes + 4 + 8
    return rows * per_row + len(_MEMBERS) * _ZIP_BYTES_PER_MEMBER + 1024


def load_handed(data: bytes, solution: Solution) -> Aligned:
    """The Aligned held by ``data`` (what the check wrote), checked against ``solution``
    and its kind (module docstring); :class:`HandedInvalid` otherwise."""
    rows, classes = len(solution.ids), list(solution.classes)
    arrays = _arrays(data, rows=rows, classes=len(classes))
    pred = arrays["pred"]
    by_class, order = arrays.get("proba_by_class"), arrays.get("proba_order")
    if order is not None:
        if by_class is None:
            raise HandedInvalid("an order of probabilities without probabilities")
        _require_permutation(order)
    proba = None if by_class is None else FloatColumns.of_matrix(by_class)
    values = Values(pred=pred, proba=proba, score=arrays.get("score"))
    problem = solution.task_kind.handed_problem(values, rows=rows, classes=classes)
    if problem is not None:
        raise HandedInvalid(problem)
    if pred.dtype.kind == "f":
        pred = pred.astype(np.float64)  # numbers as loaded: an aligned copy
    elif not pred.flags.aligned:
        pred = pred.copy()
    # Codes stay in the type the check stored them in (read-only, where the bytes are):
    # the kinds compare and count them, and widening them to load_predictions' int32
    # cost 4 ms and 40 MB at 10M rows and made the confusion counts read 4 bytes a row.
    probabilities = None
    if by_class is not None:
        probabilities = Probabilities(by_class, None if order is None else order.astype(np.intp))
    return Aligned(pred=pred, score=values.score, probabilities=probabilities)


def score_handed(
    aligned: Aligned, solution: Solution, *, row_count: int, format: str
) -> ScoreResult:
    """What :func:`scoring.core.score_file` gives for the file the check read, from its
    aligned predictions (:func:`load_handed`); ``row_count`` and ``format`` as the check
    reported them."""
    metrics, curves = evaluate(aligned, solution)
    return ScoreResult(
        metrics=metrics, curves=curves, aligned=aligned, row_count=row_count, format=format
    )


def _require_small_directory(data: bytes) -> None:
    """The zip's end record ends the data (no comment), and the directory it (or the zip64
    record zipfile would read instead) describes holds at most the five members."""
    if len(data) < _END.size:
        raise HandedInvalid("not a readable predictions archive (too short)")
    signature, _, _, _, entries, size, _, comment = _END.unpack_from(data, len(data) - _END.size)
    if signature != b"PK\x05\x06" or comment:
        raise HandedInvalid("not a readable predictions archive (no end record at its end)")
    locator = len(data) - _END.size - _LOCATOR64.size
    if locator >= _END64.size and data[locator : locator + 4] == b"PK\x06\x07":
        record = _END64.unpack_from(data, locator - _END64.size)
        if record[0] != b"PK\x06\x06":
            raise HandedInvalid("not a readable predictions archive (a broken zip64 record)")
        entries, size = record[7], record[8]
    if entries > len(_MEMBERS) or size > _DIRECTORY_BYTES:
        raise HandedInvalid(
            f"a directory of {entries:,} entries in {size:,} bytes; the predictions have at "
            f"most {len(_MEMBERS)}"
        )


def _arrays(data: bytes, *, rows: int, classes: int) -> dict[str, np.ndarray]:
    _require_small_directory(data)
    view = memoryview(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            allowed = {f"{name}.npy" for name in _MEMBERS}
            if len(set(names)) != len(names) or not set(names) <= allowed:
                raise HandedInvalid(f"unexpected members {sorted(set(names) - allowed)[:5]}")
            arrays = {
                info.filename.removesuffix(".npy"): _member(archive, info, rows, classes, view)
                for info in infos
            }
    except HandedInvalid:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        why = str(exc) or type(exc).__name__  # (an EOFError of numpy's says nothing)
        raise HandedInvalid(f"not a readable predictions archive ({why})") from exc
    if "pred" not in arrays or "version" not in arrays:
        raise HandedInvalid("the predictions or their format version are missing")
    if int(arrays.pop("version")) != _VERSION:
        raise HandedInvalid("an unknown predictions format version")
    return arrays


def _expected(name: str, rows: int, classes: int) -> tuple[tuple[int, ...], tuple[np.dtype, ...]]:
    """The shape and the types ``save_predictions`` gives member ``name``."""
    return {
        "version": ((), (np.dtype("<i8"),)),
        "pred": ((rows,), (*_CODES, _NUMBERS)),
        "proba_by_class": ((classes, rows), (_NUMBERS,)),
        "proba_order": ((rows,), _CODES),
        "score": ((rows,), (_NUMBERS,)),
    }[name]


def _member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, rows: int, classes: int, data: memoryview
) -> np.ndarray:
    """The member's array, read-only over the bytes of the archive (``data``): a stored
    member is its bytes, so none is copied (at 10M rows, reading each member through the
    zip took two copies, 0.015 s)."""
    name = info.filename.removesuffix(".npy")
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise HandedInvalid(f"{name} is compressed")
    shape, types = _expected(name, rows, classes)
    with archive.open(info) as member:  # the local header checked against the directory
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(member, max_header_size=_HEADER_BYTES)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(member, max_header_size=_HEADER_BYTES)
        else:
            raise HandedInvalid(f"{name} has the .npy version {version}")
        found_shape, fortran, dtype = header
        if dtype not in types or dtype.hasobject:
            raise HandedInvalid(f"{name} is of type {dtype}, not {' or '.join(map(str, types))}")
        if found_shape != shape or fortran:
            raise HandedInvalid(f"{name} has the shape {found_shape}, not {shape}")
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        offset = member.tell()
        if offset + size != info.file_size:
            raise HandedInvalid(f"{name} holds {info.file_size} bytes, not {offset + size}")
    stored = stored_member(data, info, name)  # its ValueError: not a readable archive
    array = np.frombuffer(stored, dtype=dtype, count=size // dtype.itemsize, offset=offset)
    if not array.flags.aligned and name != "pred":  # (the caller converts pred: a copy)
        array = array.copy()  # a member's place in the zip need not suit its type
    return array.reshape(shape)


def _require_permutation(order: np.ndarray) -> None:
    """Each row of the probabilities is one solution row, each solution row one of them."""
    if order.size and (int(order.min()) < 0 or int(order.max()) >= order.size):
        raise HandedInvalid("the probabilities' order names rows outside the solution")
    seen = np.zeros(order.size, dtype=bool)
    seen[order] = True
    if not seen.all():
        raise HandedInvalid("the probabilities' order repeats rows")
