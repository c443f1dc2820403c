"""Aligned predictions to and from bytes (an in-memory ``.npz``), to score again later.

``pred`` holds codes (class or cluster indexes, stored in the smallest integer type that
fits) or, for kinds that predict numbers, float64 values kept as they are, in the
solution's row order. Class probabilities are stored as scoring holds them
(``kinds.columns.Probabilities``): by class in the file's row order, with the solution row
of each row when the file's rows were shuffled (version 2; version 1 stored them placed in
the solution's order, and still loads).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import IO

import numpy as np

from common.arrowtools import code_type
from kinds.columns import FloatColumns, Probabilities
from scoring.core.align import Aligned

_LOCAL = struct.Struct("<4s5H3L2H")  # a member's local header, before its name and extra field

_FORMAT_VERSION = 2
_READABLE = (1, 2)


def save_predictions(aligned: Aligned) -> bytes:
    """Bytes holding ``pred`` (codes: smallest fitting int type; numbers: float64), the
    probabilities as read with their order, and ``score`` if any."""
    out = io.BytesIO()
    write_predictions(aligned, out)
    return out.getvalue()


def write_predictions(aligned: Aligned, out: IO[bytes]) -> None:
    """What :func:`save_predictions` returns, written to ``out`` (a file: nothing of it is
    held in memory twice)."""
    arrays: dict[str, np.ndarray | FloatColumns] = {
        "version": np.array(_FORMAT_VERSION),
        "pred": _compact(aligned.pred),
    }
    probabilities = aligned.probabilities
    if probabilities is not None:
        arrays["proba_by_class"] = probabilities.columns
        if probabilities.order is not None:
            arrays["proba_order"] = _compact(probabilities.order)
    if aligned.score is not None:
        arrays["score"] = aligned.score
    # What ``np.savez`` writes (a stored zip of .npy members), the probabilities' (k, n)
    # member written from the columns where Arrow holds them: no (k, n) copy is made.
    with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                if isinstance(value, FloatColumns):
                    _write_columns(member, value)
                else:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def _write_columns(member: IO[bytes], columns: FloatColumns) -> None:
    """The columns as one (k, n) float64 ``.npy`` array, column j in row j."""
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float64)),
        "fortran_order": False,
        "shape": (columns.width, columns.rows),
    }
    np.lib.format.write_array_header_1_0(member, header)
    for j in range(columns.width):
        for _, values in columns.pieces(j):
            member.write(np.ascontiguousarray(values, dtype=np.float64).data)


def load_predictions(data: bytes) -> Aligned:
    """The Aligned that ``save_predictions`` wrote; pickled objects are refused, and so
    are probabilities, or an order, that do not fit the predictions (ValueError)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        version = int(npz["version"])
        if version not in _READABLE:
            raise ValueError(f"unknown predictions format version {version}")
        stored = _stored_values(npz.zip, "pred.npy", memoryview(data))
        pred = _expanded(npz["pred"] if stored is None else stored)
        score = npz["score"] if "score" in npz.files else None
        if version == 1:
            return Aligned(
                pred=pred, proba=npz["proba"] if "proba" in npz.files else None, score=score
            )
        probabilities = None
        if "proba_by_class" in npz.files:
            by_class = npz["proba_by_class"]
            if by_class.ndim != 2 or by_class.shape[1] != pred.shape[0]:
                raise ValueError(f"probabilities {by_class.shape} for {pred.shape[0]} rows")
            order = npz["proba_order"].astype(np.intp) if "proba_order" in npz.files else None
            if (
                order is not None
                and order.size
                and not (0 <= order.min() <= order.max() < order.size)
            ):
                raise ValueError("the probabilities' order is not one of their rows")
            probabilities = Probabilities(by_class, order)
        return Aligned(pred=pred, score=score, probabilities=probabilities)


def load_pred(data: bytes) -> np.ndarray:
    """Only the ``pred`` that ``save_predictions`` wrote, as it stored it: codes in the
    integer type it chose (the values :func:`load_predictions` widens to int32; read-only,
    where ``data`` holds them) or float64 numbers. For readers that only compare or count
    them (a transfer cell): no widened copy, 4 ms and 40 MB a load at 10M rows."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        version = int(npz["version"])
        if version not in _READABLE:
            raise ValueError(f"unknown predictions format version {version}")
        stored = _stored_values(npz.zip, "pred.npy", memoryview(data))
        pred = npz["pred"] if stored is None else stored
    if pred.dtype.kind not in "iu" or pred.dtype.itemsize > 4:
        return _expanded(pred)  # numbers, or codes in a type save_predictions never writes
    return pred if pred.flags.aligned else pred.copy()  # (where the zip put them)


def _stored_values(archive: zipfile.ZipFile, name: str, data: memoryview) -> np.ndarray | None:
    """Member ``name``'s values where ``data`` holds them (read-only, never copied) when it
    is stored uncompressed with a version 1 or 2 header of a plain C-order type, its bytes
    and CRC-32 as the zip says; None otherwise (numpy reads it). numpy reads a member
    through the zip into a new array: at 10M rows, 5 ms of every transfer cell."""
    info = archive.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with archive.open(info) as member:  # its local header checked against the directory
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            return None
        read = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
        shape, fortran, dtype = read(member)
        offset = member.tell()
    if fortran or dtype.hasobject or len(shape) != 1:
        return None
    if offset + shape[0] * dtype.itemsize != info.file_size:
        raise ValueError(f"{name}: {info.file_size} bytes for {shape[0]} values of {dtype}")
    member = stored_member(data, info, name)
    return np.frombuffer(member, dtype=dtype, count=shape[0], offset=offset)


def stored_member(data: memoryview, info: zipfile.ZipInfo, name: str) -> memoryview:
    """The bytes of the stored member ``info`` where ``data`` (the whole archive) holds
    them: after its local header, name and extra field, within the archive, their CRC-32
    the directory's; ValueError otherwise (``name`` says which member)."""
    at = info.header_offset
    if at < 0 or at + _LOCAL.size > data.nbytes:
        raise ValueError(f"{info.filename} has no local header")
    fields = _LOCAL.unpack_from(data, at)
    if fields[0] != b"PK\x03\x04":
        raise ValueError(f"{info.filename} has no local header")
    start = at + _LOCAL.size + fields[-2] + fields[-1]
    if start + info.file_size > data.nbytes:
        raise ValueError(f"{name} ends early")
    member = data[start : start + info.file_size]
    if zlib.crc32(member) != info.CRC:
        raise ValueError(f"a bad CRC-32 in {name}")
    return member


def _compact(codes: np.ndarray) -> np.ndarray:
    if codes.dtype.kind == "f":
        return codes.astype(np.float64)
    return codes.astype(code_type(int(codes.max(initial=0)) + 1), copy=False)


def _expanded(pred: np.ndarray) -> np.ndarray:
    return pred.astype(np.float64) if pred.dtype.kind == "f" else pred.astype(np.int32)
