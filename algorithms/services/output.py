"""A run's output is a stranger's upload: find, open, copy and read it without trusting it.

- **Found** by name: exactly one of ``predictions.csv`` / ``predictions.parquet`` at the top
  of ``/output``.
- **Opened** only as a regular file: ``O_NOFOLLOW | O_NONBLOCK`` (a link is refused, a
  named pipe opens at once instead of waiting for a writer), then ``fstat`` before a byte is
  read: a FIFO, folder, socket or device is refused by name.
- **Taken** out of the run's output folder, at most ``cap`` bytes: that folder is the
  worker's own copy of the sandbox's ``/output`` tmpfs (``algorithms.sandbox.outputfs``:
  regular files copied, anything else recreated empty so that it is refused here by name),
  made after the sandbox ended, so the file checked as a regular file is hard-linked, not
  copied again (a copy only where a link cannot be made). Other kept files are copied.
- **Read** by the same bounded reader as an upload (``scoring.core.read_submission_file``
  with the task's ``test_rows``: footer and row-count checks, a bound on decoded bytes), in
  a process of its own (:mod:`algorithms.output_check`) whose address space is capped (its
  runtime plus what the task's size justifies) and which has a time limit and is polled for
  a cancel: a dictionary bomb costs that process its cap, never the
  worker its memory. The reader's refusal is the run's failure message, word for word.
  That process is forked from a server that imported the reader once
  (:mod:`algorithms.services.readers`): a fork, not an interpreter's start, per run.
- **Validated fully** when the task's solution is given (:class:`SolutionFile`): the same
  process aligns the file with the solution exactly as scoring will
  (``scoring.core.align_submission``: every test id once, the kind's columns and values),
  so a run whose predictions scoring would refuse fails *before* it submits, with scoring's
  own words, instead of succeeding and leaving a failed submission behind.
- **Handed over**, then, when the run's profile scores it in the worker
  (``RunProfile.hand_over``): what that process aligned is written to a file of the run's
  folder (:class:`HandedPredictions`), which the outcome loads instead of reading the file
  again, checked as untrusted (``scoring.core.handed``): by the identity the check
  reported, its size bound, then its members, shapes and values.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from algorithms.services.readers import ServerUnusable, check_server
from common.units import byte_size
from scoring.core import bounds
from scoring.core.handed import HandedInvalid

logger = logging.getLogger(__name__)

PREDICTION_NAMES = ("predictions.csv", "predictions.parquet")
COPY_CHUNK = 1024 * 1024
READER_SECONDS = 120
RUNTIME_MB = 1024  # the outer cap's room for the interpreter, numpy and pyarrow
READER_COLUMNS = 8  # id, label/cluster, score and a few proba_* columns
POLL_SECONDS = 0.2
STOP_POLL_SECONDS = 1.0
INVALID = "the predictions file is not a valid submission: "
CHECK_STEPS = ("read", "align", "hand_over")  # what the check times of its own work
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


class OutputCheckBroken(Exception):
    """The check itself failed (e.g. the task's solution could not be read): the platform's
    fault, never the algorithm's."""


@dataclass(frozen=True)
class SolutionFile:
    """A task's solution as the checking process reads it: a local Parquet file (id, label,
    split) and what ``scoring.core.load_solution`` needs besides (the kind, the classes)."""

    path: Path
    kind: str
    classes: tuple[str, ...]
    test_rows: int


@dataclass(frozen=True)
class HandedPredictions:
    """The predictions the output check aligned, in the stored predictions' format, in a
    file of the run's folder, with the identity the check reported for it and what it
    read (the file's rows and format)."""

    path: Path
    identity: tuple[int, int, int]  # size, inode, modification time (ns)
    rows: int
    format: str

    def read(self, *, limit: int) -> bytes:
        """The file's bytes, if it is still the file the check wrote and at most ``limit``
        bytes; :class:`scoring.core.handed.HandedInvalid` otherwise (before a byte is
        read). What the bytes hold is checked by ``scoring.core.handed.load_handed``."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise HandedInvalid(f"it cannot be opened ({exc.strerror})") from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise HandedInvalid("it is not a regular file")
            if (info.st_size, info.st_ino, info.st_mtime_ns) != self.identity:
                raise HandedInvalid("it is not the file the check wrote (replaced or changed)")
            if info.st_size > limit:
                raise HandedInvalid(
                    f"it is {byte_size(info.st_size)}; predictions of this task take at most "
                    f"{byte_size(limit)}"
                )
            return handle.read(limit + 1)


@dataclass(frozen=True)
class CheckedOutput:
    """The run's predictions file, checked, and what the check aligned of it (None: no
    solution was given, or the check could not write it)."""

    file: Path
    handed: HandedPredictions | None = None
    # The check's own steps as it reported them (read, align, hand_over: seconds), for the
    # run-cost bench; nothing is decided on them.
    seconds: dict[str, float] = field(default_factory=dict)


def predictions_read(
    *, output: Path,
    cap: int,
    test_rows: int | None,
    should_stop: Callable[[], bool] | None = None,
    seconds: int = READER_SECONDS,
    solution: SolutionFile | None = None,
) -> Path:
    """The run's predictions, checked and taken out of ``output`` next to it;
    :class:`OutputRefused` (or :class:`OutputReadCancelled`) otherwise. With ``solution``,
    checked against it as scoring will check it (:class:`OutputCheckBroken` when the check
    itself failed)."""
    return predictions_checked(
        output=output,
        cap=cap,
        test_rows=test_rows,
        should_stop=should_stop,
        seconds=seconds,
        solution=solution,
    ).file


def predictions_checked(
    *, output: Path,
    cap: int,
    test_rows: int | None,
    should_stop: Callable[[], bool] | None = None,
    seconds: int = READER_SECONDS,
    solution: SolutionFile | None = None,
    hand_over: bool = False,
) -> CheckedOutput:
    """:func:`predictions_read`, with what the check aligned when ``solution`` is given and
    ``hand_over`` asks for it (the caller scores the run itself)."""
    name = _predictions_name(output)
    copy = output.parent / f"submitted-{name}"
    _take_regular(output / name, copy, cap, label=f"/output/{name}")
    aligned = None
    if solution is not None and hand_over:
        aligned = output.parent / f"aligned-{os.getpid()}-{time.monotonic_ns()}.npz"
    try:
        report = _read_apart(
            copy,
            cap=cap,
            test_rows=test_rows,
            should_stop=should_stop,
            seconds=seconds,
            solution=solution,
            aligned=aligned,
        )
    except BaseException:
        copy.unlink(missing_ok=True)
        if aligned is not None:
            aligned.unlink(missing_ok=True)
        raise
    return CheckedOutput(
        file=copy, handed=_handed(aligned, report), seconds=_check_seconds(report)
    )


def _check_seconds(report: dict[str, object]) -> dict[str, float]:
    """The check's steps' seconds from its report: known names and plain numbers only."""
    said = report.get("seconds")
    if not isinstance(said, dict):
        return {}
    return {
        name: float(value)
        for name, value in said.items()
        if name in CHECK_STEPS
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value < 1e6
    }


def _handed(path: Path | None, report: dict[str, object]) -> HandedPredictions | None:
    """What the report says the check wrote at ``path``, or None (the file removed)."""
    said = report.get("aligned")
    try:
        if path is None or not isinstance(said, dict):
            raise ValueError("nothing handed over")
        identity = (int(said["bytes"]), int(said["inode"]), int(said["mtime_ns"]))
        return HandedPredictions(
            path=path, identity=identity, rows=int(report["rows"]), format=str(report["format"])
        )
    except (KeyError, TypeError, ValueError):
        if path is not None:
            path.unlink(missing_ok=True)
        return None


def output_copy(*, output: Path, name: str, cap: int) -> Path | None:
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


def _opened_regular(source: Path, cap: int, *, label: str) -> tuple[int, os.stat_result]:
    """``source`` opened (never through a link, never waiting on a pipe) and its status,
    if it is a regular file of at most ``cap`` bytes; :class:`OutputRefused` otherwise."""
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
    if info.st_size > cap:
        os.close(fd)
        raise OutputRefused(f"{label} is {byte_size(info.st_size)}; the limit is {byte_size(cap)}")
    return fd, info


def _take_regular(source: Path, taken: Path, cap: int, *, label: str) -> None:
    """Link ``source`` as ``taken`` once it is known to be a regular file within ``cap``
    (the worker's own copy of the sandbox's output: nothing else writes there); the file
    linked must be the one checked (same device and inode), else, or where a link cannot
    be made, the checked file is copied."""
    fd, info = _opened_regular(source, cap, label=label)
    with contextlib.suppress(OSError):
        taken.unlink(missing_ok=True)
        os.link(source, taken, follow_symlinks=False)
        moved = os.lstat(taken)
        if (moved.st_dev, moved.st_ino) == (info.st_dev, info.st_ino):
            os.close(fd)
            return
    with contextlib.suppress(OSError):
        taken.unlink(missing_ok=True)  # never written through: it may be a link to the source
    _copy_opened(fd, info, taken, cap, label=label)


def _copy_regular(source: Path, copy: Path, cap: int, *, label: str) -> None:
    fd, info = _opened_regular(source, cap, label=label)
    _copy_opened(fd, info, copy, cap, label=label)


def _copy_opened(fd: int, info: os.stat_result, copy: Path, cap: int, *, label: str) -> None:
    with os.fdopen(fd, "rb") as handle:
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
    decode to for the task's size (a fourth for the alignment with the solution)."""
    if test_rows is None:
        return 6 * cap
    return 2 * cap + 4 * bounds.decoded_limit(test_rows, READER_COLUMNS)


def solution_memory_bytes(*, solution: SolutionFile | None) -> int:
    """What loading the solution may take before the reader caps itself (its ids, labels
    and split, decoded): a text column and two others per allowed row, several times over."""
    return 0 if solution is None else 2 * bounds.decoded_limit(solution.test_rows, 3)


def reader_command(
    *,
    copy: Path,
    cap: int,
    memory: int,
    test_rows: int | None,
    solution: SolutionFile | None,
    aligned: Path | None = None,
) -> list[str]:
    """The checking process's command line (:mod:`algorithms.output_check`); ``aligned``
    (with ``solution``): the new file it writes the aligned predictions to."""
    command = [sys.executable, "-I", "-B", "-m", "algorithms.output_check", str(copy)]
    command += ["--max-bytes", str(cap), "--memory-bytes", str(memory)]
    if test_rows is not None:
        command += ["--test-rows", str(test_rows)]
    if solution is not None:
        command += ["--solution", str(solution.path), "--kind", solution.kind]
        command += ["--classes", json.dumps(list(solution.classes))]
        if aligned is not None:
            command += ["--aligned", str(aligned)]
    return command


def _read_apart(
    copy: Path,
    *,
    cap: int,
    test_rows: int | None,
    should_stop: Callable[[], bool] | None,
    seconds: int,
    solution: SolutionFile | None = None,
    aligned: Path | None = None,
) -> dict[str, object]:
    """The check's report, when it accepted the file; raises otherwise."""
    memory = reader_memory_bytes(cap=cap, test_rows=test_rows)
    command = reader_command(
        copy=copy, cap=cap, memory=memory, test_rows=test_rows, solution=solution, aligned=aligned
    )
    outer = RUNTIME_MB * 1024 * 1024 + memory + solution_memory_bytes(solution=solution)
    out, code = _read_forked(
        command, copy=copy, outer=outer, seconds=seconds, should_stop=should_stop
    )
    if out is None:
        out, code = _read_in_new_process(
            command, outer=outer, seconds=seconds, should_stop=should_stop
        )
    report = _report(out)
    if report.get("ok"):
        return report
    if "internal" in report:
        raise OutputCheckBroken(f"the output check failed: {report['internal']}")
    if "message" in report:
        raise OutputRefused(INVALID + str(report["message"]))
    if report.get("memory"):
        raise OutputRefused(
            f"reading the predictions file needed more than {byte_size(memory)} of memory; "
            "a file with one row per test id needs far less"
        )
    how = f"was killed by {_signal_name(-code)}" if code and code < 0 else "failed"
    raise OutputRefused(f"the predictions file could not be read: the reader {how}")


# What the reading process gets of the environment: nothing of the worker's.
READER_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    # The system allocator and few arenas: an address space near what is resident.
    "ARROW_DEFAULT_MEMORY_POOL": "system",
    "MALLOC_ARENA_MAX": "2",
    # Its large blocks in transparent huge pages where the kernel has them (madvise): each
    # check is a fresh fork that faults in every page it decodes into, 60,000 faults at 10M
    # rows; with huge pages the read takes 0.05 s less (0.29-0.35 s against 0.37-0.39 s).
    # An unknown tunable (another libc) is ignored.
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
_MODULE_COMMAND = [sys.executable, "-I", "-B", "-m", "algorithms.output_check"]


def _read_forked(
    command: list[str],
    *,
    copy: Path,
    outer: int,
    seconds: int,
    should_stop: Callable[[], bool] | None,
) -> tuple[bytes | None, int | None]:
    """The check as a child of this worker's fork server (:mod:`.readers`): its report and
    exit status, or ``(None, None)`` when the server cannot take it (the caller then starts
    a process of its own)."""
    if command[: len(_MODULE_COMMAND)] != _MODULE_COMMAND:
        return None, None  # another command (a test's stage delay): run as given
    poll = _poller(seconds=seconds, should_stop=should_stop)
    report = copy.parent / f"check-{os.getpid()}-{time.monotonic_ns()}.json"
    try:
        ended = check_server(environment=READER_ENVIRONMENT).check(
            command[len(_MODULE_COMMAND) :], report=report, memory=outer, cpu=seconds, poll=poll
        )
    except ServerUnusable:
        logger.warning("the output check's fork server failed; checking in a new process")
        return None, None
    finally:
        report.unlink(missing_ok=True)
    return ended.output, ended.returncode


def _read_in_new_process(
    command: list[str], *, outer: int, seconds: int, should_stop: Callable[[], bool] | None
) -> tuple[bytes, int | None]:
    def limit_child() -> None:  # a backstop: the reader lowers it once imported
        resource.setrlimit(resource.RLIMIT_AS, (outer, outer))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=READER_ENVIRONMENT,
        close_fds=True,
        start_new_session=True,
        preexec_fn=limit_child,
    )
    try:
        out = _wait(process, should_stop=should_stop, seconds=seconds)
    finally:
        _kill(process)
    return out, process.returncode


def _poller(*, seconds: int, should_stop: Callable[[], bool] | None) -> Callable[[], None]:
    """What a check's wait asks every 0.2 s: past the time limit, or asked to stop (once a
    second), it raises."""
    deadline = time.monotonic() + seconds
    next_stop_check = [time.monotonic()]

    def poll() -> None:
        now = time.monotonic()
        if now >= deadline:
            raise OutputRefused(
                f"reading the predictions file took longer than {seconds} s; it was stopped"
            )
        if should_stop is not None and now >= next_stop_check[0]:
            next_stop_check[0] = now + STOP_POLL_SECONDS
            if should_stop():
                raise OutputReadCancelled("cancelled while reading the output")

    return poll


def _wait(
    process: subprocess.Popen, *, should_stop: Callable[[], bool] | None, seconds: int
) -> bytes:
    poll = _poller(seconds=seconds, should_stop=should_stop)
    while True:
        poll()  # first at once: a cancel that came before the check ends it unread
        try:
            out, _ = process.communicate(timeout=POLL_SECONDS)
            return out or b""
        except subprocess.TimeoutExpired:
            pass


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
