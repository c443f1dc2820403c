"""A run's start made ready between runs: a worker process keeps one prepared start
(:meth:`.base.SandboxBackend.prepare`, the sandbox's launcher waiting in its cgroups), made
after a run, so the next run's message finds it ready.

Prepared when the message comes (record 0063), the launcher's interpreter started on the
second core while the worker claimed the run: the claim and the launch both waited on the
CPU they shared, 10-20 ms of a small run's path
(docs/decisions/0065-the-sandbox-launcher-kept-ready-between-runs.md). Prepared right as a
run ended, it took the CPU from the web answering that run's held read (the web runs below
the workers' priority, ``runtime.cpu_priority``). So the next start is prepared
:data:`DELAY_SECONDS` after a run ends, by a thread of the worker process's own that lives
as long as the process (the launcher dies with the thread that started it,
``PR_SET_PDEATHSIG``), while the worker process is idle.

- Only where it is switched on (:func:`keep_spares`: a Celery pool process, at its start);
  elsewhere (a command, a test calling the pipeline) every run prepares its own start when
  its message comes, and nothing is left behind.
- :func:`take` gives the kept start when it is still usable and was made for the same kind
  of backend (:meth:`~.base.SandboxBackend.spare_key`), else prepares one (None when that
  fails: the run's start then prepares again, where a failure is the run's to report). A
  start being made as the message comes is waited for (a few ms), never made twice.
- :func:`give_back` keeps a start that no run used (a message with nothing to claim, a
  reused result) or discards it; :func:`replenish` asks for the next one once a run is
  over, unless the worker is stopping.
- What it holds: one waiting process (a Python interpreter with the standard library, about
  10 MB), its cgroups (unlimited, nothing charged to them but the launcher) and six
  descriptors. It dies with its worker process; the cgroups of a worker that died are
  removed by the next start on the host (:func:`.cgroups.remove_stale`), and a pool process
  that exits normally discards it (:func:`discard_spare`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from typing import Any

from algorithms.sandbox.base import SandboxBackend, SandboxUnavailable, discard_prepared

logger = logging.getLogger(__name__)

# After a run's end: its held read answered, the follow-ups of its score (the board's
# render, the champion check, the mail) mostly done.
DELAY_SECONDS = 0.25

_changed = threading.Condition()
_keeping = False
_kept: tuple[Hashable, Any] | None = None
_asked: tuple[float, SandboxBackend] | None = None  # (when, for which backend)
_making = False
_maker: threading.Thread | None = None


def keep_spares(enabled: bool = True) -> None:
    """Keep a prepared start between runs in this process (``enabled``), or stop keeping
    one (and discard the one kept)."""
    global _keeping, _asked
    with _changed:
        _keeping = enabled
        if not enabled:
            _asked = None
    if not enabled:
        discard_spare()


def keep_in_pool_process(**_signal: Any) -> None:
    """Celery's ``worker_process_init``: a pool process keeps spares."""
    keep_spares(True)


def take(backend: SandboxBackend) -> Any:
    """The kept start if ``backend`` can use it, else a new one (None when it failed)."""
    kept = _taken()
    if kept is not None:
        key, prepared = kept
        if key == backend.spare_key() and usable(prepared):
            return prepared
        discard_prepared(prepared)
    return _prepare(backend)


def give_back(backend: SandboxBackend, prepared: Any) -> None:
    """A start no run used: kept for the next message where spares are kept (and none is
    kept already), else discarded."""
    with _changed:
        if _kept_now(backend, prepared):
            return
    discard_prepared(prepared)


def replenish(backend: SandboxBackend, *, stopping: bool = False) -> None:
    """Once a run is over, ask for the next run's start, made :data:`DELAY_SECONDS` later
    where spares are kept (not when the worker is ``stopping``, nor a second one)."""
    global _asked, _maker
    if stopping or backend.spare_key() is None:
        return
    with _changed:
        if not _keeping or _kept is not None:
            return
        _asked = (time.monotonic() + DELAY_SECONDS, backend)
        if _maker is None:
            _maker = threading.Thread(target=_make_when_asked, name="sandbox-spare", daemon=True)
            _maker.start()
        _changed.notify_all()


def discard_spare(**_signal: Any) -> None:
    """Let go of the kept start (also a Celery ``worker_process_shutdown`` receiver)."""
    kept = _taken()
    if kept is not None:
        discard_prepared(kept[1])


def kept(*, wait: float = 0.0) -> Any:
    """The start kept now, or None; ``wait``: up to that many seconds for one asked for
    (what the tests look at)."""
    deadline = time.monotonic() + wait
    with _changed:
        while (_asked is not None or _making) and _kept is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _changed.wait(left)
        return _kept[1] if _kept is not None else None


def usable(prepared: Any) -> bool:
    """Whether ``prepared`` can still start a run (a backend's start says so by its
    ``usable()``; one without says nothing against it)."""
    check = getattr(prepared, "usable", None)
    return prepared is not None and (check is None or bool(check()))


def _make_when_asked() -> None:
    """The maker thread: prepares each start asked for, once its time comes (runs as long
    as the process: the launchers it starts die with it)."""
    global _asked, _making
    while True:
        with _changed:
            while _asked is None or _asked[0] > time.monotonic():
                _changed.wait(None if _asked is None else _asked[0] - time.monotonic())
            backend, _asked = _asked[1], None
            if _kept is not None or not _keeping:
                continue
            _making = True
        prepared = None
        try:
            prepared = _prepare(backend)
        finally:
            with _changed:
                _making = False
                if _kept_now(backend, prepared):
                    prepared = None
                _changed.notify_all()
            discard_prepared(prepared)  # (None: kept, or none made)


def _taken() -> tuple[Hashable, Any] | None:
    """The kept start, no longer kept, and no start asked for (one being made is waited
    for: a few ms)."""
    global _kept, _asked
    with _changed:
        _asked = None
        while _making:
            _changed.wait()
        kept, _kept = _kept, None
    return kept


def _kept_now(backend: SandboxBackend, prepared: Any) -> bool:
    """With the lock held: keep ``prepared`` for ``backend``'s next run if spares are kept,
    none is, and it can start one."""
    global _kept
    key = backend.spare_key()
    if not _keeping or key is None or _kept is not None or not usable(prepared):
        return False
    _kept = (key, prepared)
    return True


def _prepare(backend: SandboxBackend) -> Any:
    try:
        return backend.prepare()
    except (SandboxUnavailable, OSError) as exc:
        logger.debug("the sandbox could not be prepared ahead: %s", exc)
        return None
    except Exception:  # the maker thread must live on: the next run prepares its own
        logger.exception("the sandbox's next start could not be prepared")
        return None
