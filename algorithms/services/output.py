"""A run's output is a stranger's upload: find, open, copy and read it without trusting it.

- **Found** by name: exactly one of ``predictions.csv`` / ``predictions.parquet`` at the top
  of ``/output``.
- **Opened** only as a regular file: ``O_NOFOLLOW | O_NONBLOCK`` (a link is refused, a
  named pipe opens at once instead of waiting for a writer), then ``fstat`` before a byte is
  read: a FIFO, folder, socket or device is refused by name.
- **Copied** out of the sandbox's folder, at most ``cap`` bytes.
- **Read** by the same bounded reader as an upload (``scoring.core.read_submission_file``
  with the task's ``test_rows``: footer and row-count checks, a bound on decoded bytes), in
  a process of its own (:mod:`algorithms.output_check`) whose address space is capped (its
  runtime plus what the task's size justifies) and which has a time limit and is polled for
  a cancel: a dictionary bomb costs that process its cap, never the
  worker its memory. The reader's refusal is the run's failure message, word for word.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common.units import byte_size
from scoring.core import bounds

PREDICTION_NAMES = ("predictions.csv", "predictions.parquet")
COPY_CHUNK = 1024 * 1024
READER_SECONDS = 120
RUNTIME_MB = 1024  # the outer cap's room for the interpreter, numpy and pyarrow
READER_COLUMNS = 8  # id, label/cluster, score and a few proba_* columns
POLL_SECONDS = 0.2
STOP_POLL_SECONDS = 1.0
INVALID = "the predictions file is not a valid submission: "
_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


class OutputRefused(Exception):
    """The output cannot become a submission; the message is for the participant."""


class OutputReadCancelled(Exception):
    """``should_stop()`` said so while the predictions were being read."""


def predictions_read(
    output: Path,
    *,
    cap: int,
    test_rows: int | None,
    should_stop: Callable[[], bool] | None = None,
    seconds: int = READER_SECONDS,
) -> Path:
    """The run's predictions, checked and copied next to ``output``; :class:`OutputRefused`
    (or :class:`OutputReadCancelled`) otherwise."""
    name = _predictions_name(output)
    copy = output.parent / f"submitted-{name}"
    _copy_regular(output / name, copy, cap, label=f"/output/{name}")
    try:
        _read_apart(copy, cap=cap, test_rows=test_rows, should_stop=should_stop, seconds=seconds)
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy


def output_copy(output: Path, name: str, cap: int) -> Path | None:
    """Any other file a run's profile keeps (its result.json, its artifacts), opened and
    copied next to ``output`` like the predictions; None when the run did not write it,
    :class:`OutputRefused` when it is not a regular file or over ``cap`` bytes."""
    if not os.path.lexists(output / name):
        return None
    copy = output.parent / f"kept-{name}"
    _copy_regular(output / name, copy, cap, label=f"/output/{name}")
    return copy


def _predictions_name(output: Path) -> str:
    found = [name for name in PREDICTION_NAMES if os.path.lexists(output / name)]
    if not found:
        raise OutputRefused(
            "the algorithm finished without writing /output/predictions.csv or "
            "/output/predictions.parquet"
        )
    if len(found) > 1:
        raise OutputRefused("the algorithm wrote both predictions.csv and predictions.parquet")
    return found[0]


def _copy_regular(source: Path, copy: Path, cap: int, *, label: str) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        if os.path.islink(source):
            raise OutputRefused(f"{label} is a symbolic link, not a regular file") from exc
        raise OutputRefused(f"{label} cannot be opened ({exc.strerror})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        raise OutputRefused(f"{label} is {kind}, not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > cap:
            raise OutputRefused(
                f"{label} is {byte_size(info.st_size)}; the limit is {byte_size(cap)}"
            )
        copied = 0
        with open(copy, "wb") as out:
            while chunk := handle.read(min(COPY_CHUNK, cap + 1 - copied)):
                out.write(chunk)
                copied += len(chunk)
                if copied > cap:
                    break
        if copied > cap:
            copy.unlink(missing_ok=True)
            raise OutputRefused(f"{label} is larger than the limit of {byte_size(cap)}")


def reader_memory_bytes(*, cap: int, test_rows: int | None) -> int:
    """What reading may add to the reader's address space: the mapped file, a copy of it
    (a gzipped CSV unpacked), and three times what the bounded reader lets the columns
    decode to for the task's size."""
    if test_rows is None:
        return 6 * cap
    return 2 * cap + 3 * bounds.decoded_limit(test_rows, READER_COLUMNS)


def _read_apart(
    copy: Path,
    *,
    cap: int,
    test_rows: int | None,
    should_stop: Callable[[], bool] | None,
    seconds: int,
) -> None:
    memory = reader_memory_bytes(cap=cap, test_rows=test_rows)
    command = [sys.executable, "-I", "-B", "-m", "algorithms.output_check", str(copy)]
    command += ["--max-bytes", str(cap), "--memory-bytes", str(memory)]
    if test_rows is not None:
        command += ["--test-rows", str(test_rows)]

    def limit_child() -> None:  # a backstop: the reader lowers it once imported
        outer = RUNTIME_MB * 1024 * 1024 + memory
        resource.setrlimit(resource.RLIMIT_AS, (outer, outer))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    environment = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        # The system allocator and few arenas: an address space near what is resident.
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": "1",
    }
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
        close_fds=True,
        start_new_session=True,
        preexec_fn=limit_child,
    )
    try:
        out = _wait(process, should_stop=should_stop, seconds=seconds)
    finally:
        _kill(process)
    report = _report(out)
    if report.get("ok"):
        return
    if "message" in report:
        raise OutputRefused(INVALID + str(report["message"]))
    if report.get("memory"):
        raise OutputRefused(
            f"reading the predictions file needed more than {byte_size(memory)} of memory; "
            "a file with one row per test id needs far less"
        )
    code = process.returncode
    how = f"was killed by {_signal_name(-code)}" if code and code < 0 else "failed"
    raise OutputRefused(f"the predictions file could not be read: the reader {how}")


def _wait(
    process: subprocess.Popen, *, should_stop: Callable[[], bool] | None, seconds: int
) -> bytes:
    deadline = time.monotonic() + seconds
    next_stop_check = time.monotonic()  # first asked at the first poll, then once a second
    while True:
        try:
            out, _ = process.communicate(timeout=POLL_SECONDS)
            return out or b""
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if now >= deadline:
            raise OutputRefused(
                f"reading the predictions file took longer than {seconds} s; it was stopped"
            )
        if should_stop is not None and now >= next_stop_check:
            next_stop_check = now + STOP_POLL_SECONDS
            if should_stop():
                raise OutputReadCancelled("cancelled while reading the output")


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _report(out: bytes) -> dict[str, object]:
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        with contextlib.suppress(ValueError):
            report = json.loads(line)
            if isinstance(report, dict):
                return report
    return {}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
