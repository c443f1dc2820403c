"""The program launcher (common/launch.py): an entrypoint runs as ``python main.py`` would run
it, and the process ends without the interpreter's teardown, where pyarrow's threads could
abort an honest run that had done its work. Run here with a plain interpreter and the
launcher's file (the sandbox binds the same file read-only at /sandbox/launch.py); the
sandboxed runs are in test_sandbox*.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from algorithms.sandbox.bubblewrap import BubblewrapBackend
from algorithms.sandbox.command import LAUNCHER_PATH
from common import launch

LAUNCHER = launch.__file__

PROGRAM = """
    \"\"\"The program's own docstring.\"\"\"
    import atexit, pickle, sys, threading, time

    import helper

    class Point:
        pass

    print("name", __name__, "doc", __doc__)
    print("file", __file__, "argv", sys.argv[1:], "path0", sys.path[0] + "/main.py" == __file__)
    print("globals", sorted(globals()))
    print("helper", helper.VALUE, "pickle", type(pickle.loads(pickle.dumps(Point()))).__module__)
    atexit.register(lambda: print("atexit ran", flush=True))
    threading.Thread(target=lambda: (time.sleep(0.2), print("thread joined"))).start()
    left_open = open(sys.argv[1] + ".txt", "w")
    left_open.write("flushed at the end")
    mode = sys.argv[2]
    if mode == "code":
        sys.exit(3)
    if mode == "message":
        sys.exit("a message")
    if mode == "raise":
        def inner():
            raise ValueError("boom")
        inner()
"""


def run_program(tmp_path: Path, mode: str, *, launched: bool) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    (folder / "main.py").write_text(textwrap.dedent(PROGRAM))
    (folder / "helper.py").write_text("VALUE = 42\n")
    start = [LAUNCHER] if launched else []
    here = tmp_path / ("launched" if launched else "plain")  # its output: here/<mode>.txt
    here.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-B", "-s", *start, str(folder / "main.py"), mode, mode],
        capture_output=True,
        text=True,
        cwd=here,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("mode", "status"), [("ok", 0), ("code", 3), ("message", 1), ("raise", 1)])
def test_an_entrypoint_runs_as_python_main_py_would_and_ends_the_same(tmp_path, mode, status):
    plain = run_program(tmp_path, mode, launched=False)
    launched = run_program(tmp_path, mode, launched=True)
    assert plain.returncode == launched.returncode == status, launched.stderr
    # Everything the program sees and prints is the same: __main__, its docstring, argv,
    # sys.path[0], its globals (none of the launcher's), pickling a class of __main__;
    # threads are joined before atexit runs; the same traceback, no frame of the launcher's.
    assert launched.stdout == plain.stdout
    assert launched.stderr == plain.stderr
    assert "name __main__ doc The program's own docstring." in plain.stdout
    assert "helper 42 pickle __main__" in plain.stdout
    assert plain.stdout.index("thread joined") < plain.stdout.index("atexit ran")
    # A file the program left open is flushed and closed.
    assert (tmp_path / "launched" / f"{mode}.txt").read_text() == "flushed at the end"
    if mode == "raise":
        assert launched.stderr.rstrip().endswith("ValueError: boom")
        assert "launch.py" not in launched.stderr


def test_a_syntax_error_reads_as_the_interpreter_prints_it(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("x = (\n")
    launched = subprocess.run(
        [sys.executable, LAUNCHER, str(script)], capture_output=True, text=True, check=False
    )
    plain = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    assert launched.returncode == plain.returncode == 1
    assert launched.stderr == plain.stderr


def test_the_interpreter_s_teardown_is_skipped(tmp_path):
    """What would run in the teardown (a module's object's finaliser, seen while the
    interpreter finalises) never runs: there is no moment left for a native thread to meet
    a finalising interpreter. The program's own ``__main__`` objects are still finalised."""
    script = tmp_path / "main.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, types
            class Witness:
                def __init__(self, name):
                    self.name = name
                def __del__(self, sys=sys):
                    print(self.name, "finalised; finalizing:", sys.is_finalizing(), flush=True)
            held = types.ModuleType("held_elsewhere")
            held.witness = Witness("module")
            sys.modules["held_elsewhere"] = held
            mine = Witness("main")
            """
        )
    )
    plain = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    # the teardown the launcher skips
    assert "module finalised; finalizing: True" in plain.stdout
    launched = subprocess.run(
        [sys.executable, LAUNCHER, str(script)], capture_output=True, text=True, check=False
    )
    assert launched.returncode == 0, launched.stderr
    assert launched.stdout == "main finalised; finalizing: False\n"


def test_the_sandbox_starts_every_entrypoint_through_the_launcher(tmp_path):
    from algorithms.sandbox.base import SandboxJob, SandboxLimits
    from algorithms.sandbox.command import Descriptors

    job = SandboxJob(
        code_dir=tmp_path,
        entrypoint="sub/main.py",
        task_dir=tmp_path,
        output_dir=tmp_path,
        limits=SandboxLimits(),
    )
    command = BubblewrapBackend(bwrap="/usr/bin/bwrap").command(job, fds=Descriptors(launcher=7))
    assert command[-3:] == ["-s", LAUNCHER_PATH, "/code/sub/main.py"]
    # The launcher reaches bwrap as a descriptor it copies into a read-only file: neither
    # its text nor a path of the platform's checkout is on the command line.
    at = command.index("--ro-bind-data")
    assert command[at - 2 : at + 3] == ["--perms", "0444", "--ro-bind-data", "7", LAUNCHER_PATH]
    assert not any("def launch" in arg or arg.endswith("common/launch.py") for arg in command)
    at = command.index("PYTHONFAULTHANDLER")  # a crash's Python stacks land in the log
    assert command[at - 1 : at + 2] == ["--setenv", "PYTHONFAULTHANDLER", "1"]
