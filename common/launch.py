"""How a short-lived Python program of the platform's ends: as the interpreter would, for
everything the program can count on, then ``os._exit``, skipping the rest of the
interpreter's teardown and C++'s static destructors.

The sandbox (algorithms/sandbox/command.py) starts every algorithm with this file, which
bwrap copies into a read-only file of the sandbox's own (``python -B -s /sandbox/launch.py
/code/main.py``: nothing of the platform's is importable or mounted in there, so it imports
only the standard library). It runs the entrypoint as ``python /code/main.py`` would (``__main__``,
``__file__``, ``sys.argv``, ``sys.path[0]``, ``-P``, tracebacks without a frame of its own,
``SystemExit``'s status). The platform's own short commands (``manage.py``, the output
check) end through :func:`run` too.

The end, in ``Py_FinalizeEx``'s order: non-daemon threads are joined, ``atexit`` functions
run, the program's ``__main__`` is dropped, collected and its globals cleared as the
teardown clears a module (a file it left open is flushed and closed), ``stdout`` and
``stderr`` are flushed (120 if that fails), then ``os._exit`` with the program's status.
Other modules are not torn down.

Why, observed: a few honest runs in a thousand (a trivial pandas/pyarrow program, on a
loaded host) were "killed by SIGSEGV" at about their whole run's CPU. The kernel's log placed
the fault at the ``hlt`` that glibc's ``abort()`` runs when ``SIGABRT`` did not end the
process (the program is pid 1 of its namespace, which ignores it), on a worker thread's
stack; outside the sandbox the same end was ``manage.py import_task`` exiting -6 with
"terminate called without an active exception" after its work. The likely mechanism
(apache/arrow#34314, #38352): CPython 3.11 ends a thread that asks for the GIL while the
interpreter finalises with ``pthread_exit``; a native thread that then drops its last
reference to a Python object (pyarrow's I/O threads hold the file object pandas opened for
``read_parquet``) unwinds through a ``noexcept`` destructor and the C++ runtime calls
``std::terminate``. Without the teardown there is no such moment.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib.machinery
import io
import os
import sys
import threading
import types

TYPE_CHECKING = False  # typing is not imported: every algorithm run starts here
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def exit_status(code: object) -> int:
    """``sys.exit(code)``'s process status, as the interpreter computes it (a message is
    printed to stderr and counts as 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(BaseException):
        print(code, file=sys.stderr)
    return 1


def run(body: Callable[[], object]) -> NoReturn:
    """Call ``body`` as the interpreter runs a program (its ``SystemExit``'s status, an
    uncaught exception printed by ``sys.excepthook`` and 1, 130 for ``KeyboardInterrupt``),
    then :func:`finish`."""
    status = 0
    try:
        body()
    except SystemExit as stop:
        status = exit_status(stop.code)
    except BaseException as error:
        traceback = error.__traceback__
        while traceback is not None and traceback.tb_frame.f_code.co_filename == _OWN_FILE:
            traceback = traceback.tb_next  # this module's own frames
        error.__traceback__ = traceback  # what the hook prints
        with contextlib.suppress(BaseException):
            sys.excepthook(type(error), error, traceback)
        status = 130 if isinstance(error, KeyboardInterrupt) else 1
        del error, traceback
    finish(status)


def finish(status: int) -> NoReturn:
    """End the process with ``status`` after what finalisation does that a program can
    observe: its threads, ``atexit``, then its ``__main__`` dropped and cleared as the
    teardown clears a module (and collected), then the streams flushed."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # what finalisation calls
    except BaseException:
        status = status or 1
    atexit._run_exitfuncs()
    main = sys.modules.pop("__main__", None)
    _clear_module_dict(getattr(main, "__dict__", {}))  # what the teardown does to a module
    del main
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:
            status = status or 120  # as the interpreter when a stream cannot be flushed
    os._exit(status)


def _clear_module_dict(namespace: dict[str, object]) -> None:
    """CPython's ``_PyModule_ClearDict``: names with one leading underscore become None
    first, then every other name but ``__builtins__``; objects only they held are finalised
    (a file the program left open is flushed and closed)."""
    for name in list(namespace):
        if name.startswith("_") and not name.startswith("__"):
            namespace[name] = None
    for name in list(namespace):
        if name != "__builtins__":
            namespace[name] = None


_OWN_FILE = exit_status.__code__.co_filename  # "/sandbox/launch.py" in the sandbox


def launch(path: str) -> NoReturn:
    """Run the script at ``path`` as ``__main__`` (``sys.argv`` is already
    ``[path, *arguments]``), then :func:`finish`."""
    if not sys.flags.safe_path:  # the launcher's own folder is first; the script's own
        sys.path[0] = os.path.dirname(path)  # folder goes there instead
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=path,
        __cached__=None,
        __annotations__={},
        __builtins__=sys.modules["builtins"],
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
    )
    sys.modules["__main__"] = main  # this module's globals live on in its functions
    del main  # only sys.modules holds the program's module: finish() drops it

    def body() -> None:
        with io.open_code(path) as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
        # the algorithm's entrypoint, in the sandbox
        exec(code, sys.modules["__main__"].__dict__)  # noqa: S102

    run(body)


if __name__ == "__main__":  # the sandbox: python /sandbox/launch.py /code/<entrypoint> [args]
    sys.argv = sys.argv[1:]
    launch(sys.argv[0])
