"""Start the baseline runner in its own process group, watch it, and always clean up.

Pure Python (no Django): the Celery task that owns a baseline job calls
:func:`run_baseline_subprocess` and turns the :class:`BaselineOutcome` into database state.

The runner runs as ``python -P -m scoring.baselines.runner`` with ``PYTHONSAFEPATH=1``, in a
new session (so its process group holds it and every process it spawns), under an address
space limit, with its working directory set to the output folder. On a hard timeout, a
cancel request or an exception in the caller (for instance Celery's soft time limit), the
whole group gets SIGTERM, then SIGKILL after a grace period, so no process survives.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scoring.baselines import outputs

Status = Literal["succeeded", "failed", "timed_out", "cancelled"]

RUNNER_MODULE = "scoring.baselines.runner"
DEFAULT_MEMORY_LIMIT_BYTES = 8 * 1024**3
# AutoGluon's own (soft) memory budget, as a share of the address-space limit: virtual
# memory always exceeds the resident memory AutoGluon accounts for.
AG_MEMORY_SHARE = 0.6
_PROGRESS_CHUNK = 64 * 1024


@dataclass(frozen=True)
class BaselineOutcome:
    """How one baseline run ended, and where its files are (None when not written)."""

    status: Status
    message: str
    elapsed: float
    returncode: int | None
    pid: int
    predictions: Path | None
    leaderboard: Path | None
    log: Path | None
    result: Path | None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes in group ``pgid`` that are not zombies (Linux ``/proc``)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


def terminate_group(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM the process group led by ``proc``, SIGKILL it after ``grace`` seconds, and
    wait until no live process of the group remains (and the leader is reaped)."""
    pgid = proc.pid

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def wait_empty(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            proc.poll()
            if proc.returncode is not None and not live_group_members(pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    if proc.returncode is not None and not live_group_members(pgid):
        return
    send(signal.SIGTERM)
    if wait_empty(grace):
        return
    send(signal.SIGKILL)
    wait_empty(10.0)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)


class _LogTail:
    """Hands complete new lines of a growing file to a callback."""

    def __init__(self, path: Path, callback: Callable[[str], None] | None) -> None:
        self.path, self.callback = path, callback
        self.offset, self.partial = 0, b""

    def pump(self, *, final: bool = False) -> None:
        if self.callback is None:
            return
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                while chunk := fh.read(_PROGRESS_CHUNK):
                    self.offset += len(chunk)
                    self.partial += chunk
        except FileNotFoundError:
            return
        *lines, self.partial = self.partial.split(b"\n")
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.callback(line)


def _address_space_limiter(limit: int | None) -> Callable[[], None] | None:
    """A preexec function that caps the child's address space (computed before the fork)."""
    if not limit:
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    return apply


def _child_env(num_cpus: int) -> dict[str, str]:
    """The runner's environment: a safe import path (``scoring`` comes from the project's
    installation in the virtualenv, never from the working directory) and thread caps.

    ``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads sleep instead of spinning between parallel
    regions. On a shared host (a baseline worker next to scoring workers) spinning threads
    wait for descheduled peers: measured here at load 5 on 2 cores, LightGBM took 12-28 s per
    model instead of 1-3 s, so a 40 s budget fit 2 models instead of 9."""
    env = dict(os.environ)
    env.update(
        PYTHONSAFEPATH="1",
        PYTHONUNBUFFERED="1",
        OMP_WAIT_POLICY="PASSIVE",
        OMP_NUM_THREADS=str(num_cpus),
        OPENBLAS_NUM_THREADS=str(num_cpus),
        MKL_NUM_THREADS=str(num_cpus),
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the runner never touches Django
    return env


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4096))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _failure_message(out_dir: Path, returncode: int) -> str:
    error = outputs.read_json(out_dir / outputs.RESULT).get("error")
    if error:
        return str(error)
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"baseline runner killed by {name}{hint}"
    line = _last_line(out_dir / outputs.RUNNER_OUTPUT)
    return line.removeprefix("baseline failed: ") or f"baseline runner exited with {returncode}"


def run_baseline_subprocess(
    *,
    task_dir: Path | str,
    out_dir: Path | str,
    time_limit: float,
    presets: str = "medium_quality",
    hard_timeout: float,
    cancel_event: threading.Event | None = None,
    on_progress: Callable[[str], None] | None = None,
    memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES,
    num_cpus: int | None = None,
    keep_model: bool = False,
    runner_module: str = RUNNER_MODULE,
    kill_grace: float = 10.0,
    poll_interval: float = 0.25,
) -> BaselineOutcome:
    """Run the AutoGluon baseline on ``task_dir`` into ``out_dir`` and wait for it.

    ``time_limit`` is AutoGluon's fit budget; ``hard_timeout`` bounds the whole run
    (imports, features, fit, predict) in wall-clock seconds. ``on_progress`` receives each
    new line of fit.log, in the calling thread. Setting ``cancel_event`` stops the run.
    ``runner_module`` is the module run as the runner (the ``BASELINE_RUNNER_MODULE`` setting).
    """
    if time_limit <= 0 or hard_timeout <= 0:
        raise ValueError("time_limit and hard_timeout must be positive")
    task_dir, out_dir = Path(task_dir).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in outputs.WRITTEN:
        (out_dir / stale).unlink(missing_ok=True)
    cpus = num_cpus or min(2, len(os.sched_getaffinity(0)))
    cmd = [
        sys.executable, "-P", "-m", runner_module,
        "--task-dir", str(task_dir),
        "--out-dir", str(out_dir),
        "--time-limit", str(time_limit),
        "--presets", presets,
        "--num-cpus", str(cpus),
    ]  # fmt: skip
    if memory_limit_bytes:
        cmd += ["--memory-limit-gb", f"{memory_limit_bytes * AG_MEMORY_SHARE / 1e9:.2f}"]
    if keep_model:
        cmd.append("--keep-model")

    started = time.monotonic()
    status: Status | None = None
    tail = _LogTail(out_dir / outputs.FIT_LOG, on_progress)
    with open(out_dir / outputs.RUNNER_OUTPUT, "wb") as output:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=out_dir,
            env=_child_env(cpus),
            start_new_session=True,
            preexec_fn=_address_space_limiter(memory_limit_bytes),
        )
    try:
        while proc.poll() is None:
            tail.pump()
            if cancel_event is not None and cancel_event.is_set():
                status = "cancelled"
                break
            if time.monotonic() - started >= hard_timeout:
                status = "timed_out"
                break
            if cancel_event is not None:
                cancel_event.wait(poll_interval)
            else:
                time.sleep(poll_interval)
    finally:
        # Also on an exception in the caller's thread (callback error, soft time limit):
        # the group must not outlive us. After a normal exit this reaps stray children.
        terminate_group(proc, grace=kill_grace)
    tail.pump(final=True)
    elapsed = time.monotonic() - started
    returncode = proc.returncode

    if status is None:
        predictions = out_dir / outputs.PREDICTIONS
        if returncode == 0 and predictions.is_file():
            status, message = "succeeded", "baseline finished"
            best = outputs.read_json(out_dir / outputs.RESULT)
            if best.get("best_model"):
                message = (
                    f"baseline finished: {best['best_model']}, validation "
                    f"{best.get('eval_metric')} {best.get('validation_score')}"
                )
        else:
            status, message = "failed", _failure_message(out_dir, returncode)
    else:
        message = (
            f"baseline cancelled after {elapsed:.0f} s"
            if status == "cancelled"
            else f"baseline exceeded its hard timeout of {hard_timeout:g} s"
        )
        _record_stop(out_dir, status, message, keep_model=keep_model)

    def existing(name: str) -> Path | None:
        path = out_dir / name
        return path if path.is_file() else None

    return BaselineOutcome(
        status=status,
        message=message,
        elapsed=round(elapsed, 3),
        returncode=returncode,
        pid=proc.pid,
        predictions=existing(outputs.PREDICTIONS) if status == "succeeded" else None,
        leaderboard=existing(outputs.LEADERBOARD),
        log=existing(outputs.FIT_LOG),
        result=existing(outputs.RESULT),
    )


def _record_stop(out_dir: Path, status: Status, message: str, *, keep_model: bool) -> None:
    """After a kill: no half-trusted predictions, no model files, and result.json says why."""
    (out_dir / outputs.PREDICTIONS).unlink(missing_ok=True)
    if not keep_model:
        shutil.rmtree(out_dir / outputs.MODEL_DIR, ignore_errors=True)
    result = outputs.read_json(out_dir / outputs.RESULT)
    result.update(status=status, error=message)
    outputs.write_json_atomic(out_dir / outputs.RESULT, result)
