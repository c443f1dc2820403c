"""Start a process again when it crashes: ``python -m runtime.respawn NAME COMMAND``.

``manage.py runplatform`` (the embedded default, ``make run``) runs the Procfile's background
processes (Celery workers, beat) through this wrapper. honcho, which runs the Procfile, stops
every process as soon as one exits; a worker that dies of an error (a known Celery/kombu
race when the broker drops a connection while messages are unacknowledged ends the worker
with "Unrecoverable error") would take the whole platform down with it. A deployment's
supervisor (systemd, a container's restart policy) starts such a worker again; this is the
embedded default's.

- ``COMMAND`` runs under ``/bin/sh -c`` (the Procfile's ``${VAR:-default}`` values), in this
  process group, so honcho's SIGTERM to the group reaches it directly.
- Exit status 0, or any exit once SIGINT/SIGTERM arrived: the wrapper exits with it (a stop
  is a stop).
- Any other exit: the command starts again after a pause (1 s, doubling up to 30 s), and the
  line ``NAME exited with status N; starting it again in S s`` says so. More than
  ``MAX_CRASHES`` crashes within ``WINDOW_SECONDS`` is a crash loop: the wrapper gives up with
  the last status, and honcho stops the platform as before.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from types import FrameType

MAX_CRASHES = 5
WINDOW_SECONDS = 300.0
FIRST_PAUSE = 1.0
MAX_PAUSE = 30.0


class Stop:
    """Remembers SIGINT/SIGTERM (the child gets them from honcho too: same process group)."""

    def __init__(self, *, install: bool = True) -> None:
        self.requested = False
        self.child: subprocess.Popen | None = None
        for signum in (signal.SIGINT, signal.SIGTERM) if install else ():
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signum)  # in case it was sent to this process alone


def respawn(*, name: str, command: str, stop: Stop | None = None) -> int:
    """Run ``command`` until it stops on purpose or crashes too often; its last status."""
    stop = stop or Stop()
    crashes: list[float] = []
    pause = FIRST_PAUSE
    while True:
        stop.child = subprocess.Popen(["/bin/sh", "-c", command])
        status = stop.child.wait()
        if status == 0 or stop.requested:
            return status
        now = time.monotonic()
        crashes = [t for t in crashes if now - t < WINDOW_SECONDS] + [now]
        if len(crashes) > MAX_CRASHES:
            print(
                f"{name} exited with status {status} {len(crashes)} times within "
                f"{WINDOW_SECONDS:.0f} s; not starting it again",
                file=sys.stderr,
                flush=True,
            )
            return status
        print(
            f"{name} exited with status {status}; starting it again in {pause:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not stop.requested:
            time.sleep(0.1)
        if stop.requested:
            return status
        pause = min(pause * 2, MAX_PAUSE)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m runtime.respawn NAME COMMAND", file=sys.stderr)
        return 2
    name, command = argv
    status = respawn(name=name, command=command)
    return status if status >= 0 else 128 - status  # killed by a signal: as a shell says it


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
