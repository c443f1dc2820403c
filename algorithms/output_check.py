"""Read one predictions file with the uploads' bounded reader, in a process of its own.

Started by :mod:`algorithms.services.output` (``python -I -m algorithms.output_check``) with a
time limit: whatever a run wrote is parsed here, never in the worker. Once its imports are
done it caps its own address space at what it uses then plus ``--memory-bytes``, so the
file's reading, not the runtime, is what the cap bounds. Imports no Django. Prints one JSON
line::

    {"ok": true, "format": "parquet", "rows": 1000, "seconds": {"read": 0.01, ...}}
    {"ok": false, "message": "<the reader's or the alignment's words>"}
    {"ok": false, "memory": true}
    {"ok": false, "internal": "<why the solution could not be loaded>"}

Given ``--solution`` (a local copy of the task's ``solution.parquet``), ``--kind`` and
``--classes``, the file is also aligned with the solution exactly as scoring will align it
(``scoring.core.align_submission``: every test id once, the kind's columns and values), so
whatever scoring would refuse is refused here, in scoring's words. The solution is loaded
before the cap is set (it is the platform's file, not the run's). With ``--aligned`` a new
file, what was aligned is also written there in the stored predictions' format, and the
report says which file it is (``"aligned": {"bytes", "inode", "mtime_ns"}``): the worker
scores those arrays instead of reading the run's file a second time, and checks them as it
would any stranger's bytes (``scoring.core.handed``).

``--serve`` (:func:`serve`, started by :mod:`algorithms.services.readers`): a process that
imports the reader once and then forks one child per check, ahead of its request, so a run's
check costs neither an interpreter's start and its imports (a quarter of a second, the whole
of a small task's method) nor the fork itself. Each child is the process the command line would have
been: a session of its own, the same limits, the same report, written to a file. The
server parses a check's solution before forking it and keeps the last one (by its file's
identity), so the checks of a task's runs inherit it parsed instead of each reading it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import resource
import signal
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa

from algorithms.sandbox.launcher_child import read_all
from common import keyfile
from scoring.core import SubmissionInvalid, align_submission, load_solution, read_submission_file
from scoring.core.align import Aligned, prepare_alignment
from scoring.core.idpages import ExpectedIds
from scoring.core.predictions import write_predictions

if TYPE_CHECKING:
    from collections.abc import Iterator

MESSAGE_CHARS = 4000
STARTED = b"s"  # a check's first word to its server: a session of its own, its limits set


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--test-rows", type=int, default=None)
    parser.add_argument("--memory-bytes", type=int, required=True)
    parser.add_argument("--solution", default=None)
    parser.add_argument("--kind", default=None)
    parser.add_argument("--classes", default="[]", help="the task's classes, a JSON list")
    parser.add_argument(
        "--aligned", default=None, help="a new file for the aligned predictions (with --solution)"
    )
    return parser


# The last solution parsed in this process, by its file's identity and the kind's reading:
# the fork server parses a task's solution before it forks a check, so every check of the
# task's runs inherits it parsed (at a million rows, a tenth of a second a run), with the
# table of its ids' keys where the ids have no numbered shape, and its ids laid out as a
# Parquet page holds them (``scoring.core.idpages``: a file's ids proven from its pages).
_kept_solution: list[tuple[tuple, tuple[object, object]]] = []


def _solution(path: str, *, kind: str | None, classes: str) -> tuple[object, object]:
    """``scoring.core.load_solution`` of the platform's solution file at ``path``, parsed
    once while the file stays the same one (a replaced solution is a new file), and its
    ids laid out (``ExpectedIds``, None when they are not laid out)."""
    info = os.stat(path)
    key = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, kind, classes)
    if _kept_solution and _kept_solution[0][0] == key:
        return _kept_solution[0][1]
    _kept_solution.clear()  # one solution kept: the old one goes before the new is read
    solution = load_solution(path, kind=kind, classes=[str(c) for c in json.loads(classes)])
    # With the table of its ids' keys (UUIDs, free strings), which a check would make again:
    # read from the file the import stored beside the solution when it is this one's.
    solution = prepare_alignment(replace(solution, keys_path=keyfile.keys_name(path)))
    kept = (solution, ExpectedIds.of(solution.ids))
    _kept_solution.append((key, kept))
    return kept


def _keep_solution(argv: list[str]) -> None:
    """In the server, before a check is forked: parse the check's solution if it has one
    (any problem is left to the check, which reports it as its own)."""
    try:
        args = _parser().parse_args(argv)
        if args.solution:
            _solution(args.solution, kind=args.kind, classes=args.classes)
    except (Exception, SystemExit):
        _kept_solution.clear()


def main(*, argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    pa.set_cpu_count(2)  # few threads: a small, predictable address space
    pa.set_io_thread_count(2)
    solution = expected = None
    if args.solution:
        try:
            solution, expected = _solution(args.solution, kind=args.kind, classes=args.classes)
        except Exception as exc:  # the platform's file: never the algorithm's fault
            sys.stdout.write(json.dumps({"ok": False, "internal": str(exc)[:300]}) + "\n")
            sys.stdout.flush()
            return 0
    cap = _address_space() + args.memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    seconds: dict[str, float] = {}  # this process's own steps, for the run-cost bench
    try:
        try:
            with _timed(seconds, "read"):
                parsed = read_submission_file(
                    args.path,
                    max_bytes=args.max_bytes,
                    test_rows=args.test_rows,
                    expected_ids=expected,
                )
            with _timed(seconds, "align"):
                aligned = None if solution is None else align_submission(parsed.table, solution)
        except SubmissionInvalid as exc:
            report: dict[str, object] = {"ok": False, "message": exc.message[:MESSAGE_CHARS]}
        else:
            report = {"ok": True, "format": parsed.format, "rows": parsed.table.num_rows}
            if aligned is not None and args.aligned:
                with _timed(seconds, "hand_over"):
                    handed = _hand_over(aligned, args.aligned)
                if handed is not None:
                    report["aligned"] = handed
            report["seconds"] = {name: round(value, 6) for name, value in seconds.items()}
    except (MemoryError, pa.ArrowMemoryError):
        report = {"ok": False, "memory": True}
    except OSError as exc:  # e.g. mapping the file: "Cannot allocate memory"
        memory = exc.errno == errno.ENOMEM or "Cannot allocate memory" in str(exc)
        report = {"ok": False, "memory": True} if memory else {"ok": False, "crash": str(exc)[:300]}
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    return 0


@contextlib.contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = time.perf_counter() - started


def _hand_over(aligned: Aligned, path: str) -> dict[str, int] | None:
    """Write ``aligned`` to the new file ``path`` in the stored predictions' format
    (``scoring.core.predictions.write_predictions``), for the worker to score instead of
    reading the file again; its identity (size, inode, modification time) for the report,
    which the worker compares with the file it then reads. None when it could not be
    written (the worker then scores the file itself)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as out:
            write_predictions(aligned, out)
            out.flush()
            info = os.fstat(out.fileno())
    except Exception:  # MemoryError, a full disk: the hand-over is an optimisation
        os.unlink(path)
        return None
    return {"bytes": info.st_size, "inode": info.st_ino, "mtime_ns": info.st_mtime_ns}


def serve() -> int:
    """Read one request per line on stdin (a JSON object: ``argv`` for :func:`main`,
    ``report`` a new file for its output, ``memory`` and ``cpu`` the outer limits); give it
    to a child, answer ``{"pid"}`` at once and ``{"pid", "returncode"}`` when the child's
    report is written, or when it ended without one (a negative number: the signal that
    ended it). Ends at the end of stdin: its worker is gone.

    The child is forked before its request comes (:class:`_Spare`, once the previous check
    was answered, while the worker goes on with the run), so a check does not wait for the
    fork; a spare forked with another task's solution is replaced. A child says when its
    report is written, so the answer does not wait for it to exit (the teardown of what it
    decoded); it is reaped right after."""
    pa.array([0])  # pyarrow imports pandas on its first array: here, once, for every child

    def answer(message: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    spare: _Spare | None = None
    try:
        for line in sys.stdin:
            try:
                request = json.loads(line)
                argv = list(map(str, request["argv"]))
                str(request["report"]), int(request["memory"]), int(request["cpu"])
            except (ValueError, KeyError, TypeError):
                answer({"error": "bad request"})
                continue
            _keep_solution(argv)
            if spare is None or spare.solution != _kept_key():
                if spare is not None:
                    spare.discard()
                spare = _Spare.fork()
            child, spare = spare, None
            child.start(line)
            answer({"pid": child.pid})
            answer({"pid": child.pid, "returncode": child.ended()})
            child.reap()
            spare = _Spare.fork()
    finally:
        if spare is not None:
            spare.discard()
    return 0


def _kept_key() -> tuple | None:
    return _kept_solution[0][0] if _kept_solution else None


class _Spare:
    """A check's child, forked before its request: it waits in the server's process group
    (a kill of the server's group ends it, and so does the server's end: its request pipe
    closes), then becomes the check the request describes (:func:`_check_child`)."""

    def __init__(self, pid: int, request: int, done: int) -> None:
        self.pid, self.request, self.done = pid, request, done
        self.solution = _kept_key()
        self.said = b""

    @classmethod
    def fork(cls) -> _Spare:
        request_read, request_write = os.pipe()
        done_read, done_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the check: never returns
            code = 1
            try:
                os.close(request_write)
                os.close(done_read)
                code = _check_child(request_read, done_write)
            finally:
                os._exit(code)
        os.close(request_read)
        os.close(done_write)
        return cls(pid, request_write, done_read)

    def start(self, line: str) -> None:
        """Hand it the request; back once it is a session of its own with its limits set
        (its pid is then the group a cancel kills), or once it ended."""
        with contextlib.suppress(BrokenPipeError):  # it died: ended() says how
            os.write(self.request, line.encode())
        os.close(self.request)
        self.request = -1
        self.said = os.read(self.done, 1)  # STARTED, or nothing: it ended

    def ended(self) -> int:
        """The check's exit status: what it said once its report was written, else (it
        ended without a word) the one ``waitpid`` gives."""
        said = self.said.removeprefix(STARTED)
        while self.said and b"\n" not in said and (chunk := os.read(self.done, 64)):
            said += chunk
        os.close(self.done)
        self.done = -1
        if said.endswith(b"\n") and said.strip().lstrip(b"-").isdigit():
            return int(said)
        return self.reap()

    def reap(self) -> int:
        if self.pid == 0:
            return 0
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        return os.waitstatus_to_exitcode(status)

    def discard(self) -> None:
        for fd in (self.request, self.done):
            if fd >= 0:
                os.close(fd)
        self.request = self.done = -1
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.reap()


def _check_child(request: int, done: int) -> int:
    """In a spare: wait for the request (none: the server ended), then run it as the
    command line's process would run, in a session of its own, and say its status on
    ``done`` once the report is written."""
    received = read_all(request)
    os.close(request)
    if not received:
        return 0
    told = json.loads(received)
    os.setsid()
    memory, cpu = int(told["memory"]), int(told["cpu"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.write(done, STARTED)
    out = os.open(str(told["report"]), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.dup2(out, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = os.fdopen(1, "w", closefd=False)
    code = main(argv=list(map(str, told["argv"])))
    sys.stdout.flush()
    os.write(done, f"{code}\n".encode())
    return code


def _address_space() -> int:
    """This process's virtual memory size now (``VmSize``), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    from common.launch import run  # no interpreter teardown (see there)

    if sys.argv[1:] == ["--serve"]:
        run(lambda: sys.exit(serve()))
    else:
        run(lambda: sys.exit(main()))
