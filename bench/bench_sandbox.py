"""The bubblewrap sandbox's overhead against running the same script directly.

    .venv/bin/python bench/bench_sandbox.py              # a 30 s CPU-bound run, 5 start-ups
    .venv/bin/python bench/bench_sandbox.py --seconds 5  # a quick smoke run

Two measurements, each against a reference taken in the same run:

- **start-up**: wall seconds to run an empty ``main.py`` (Python start, nothing imported)
  in the sandbox and directly, best of ``--repeat``: the sandbox's fixed cost (namespaces,
  mounts, the watchdog).
- **a long run**: a CPU-bound script that loops for ``--seconds`` of wall time directly,
  then the same script with the same number of iterations in the sandbox; the ratio is
  sandboxed wall time / direct wall time (target <= 1.1 on a 30 s run).

The sandboxed runs have every limit on, enforced as this host allows (printed at the end:
on a root worker with cgroups, one memory/pids/CPU-time budget for the tree and a tmpfs
``/output``; ``--cpus N`` adds a CPU quota). The direct runs use the same interpreter with
the same cleared environment, so only the sandbox differs. The machine may be shared: the
figures are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from algorithms.sandbox.base import SandboxJob, SandboxLimits
from algorithms.sandbox.bubblewrap import BubblewrapBackend

CALIBRATE = """
import time
n, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}:
    for _ in range(10000):
        n += 1
print(n)
"""
FIXED = """
n = 0
for _ in range({iterations}):
    n += 1
print(n)
"""


def direct(script: Path) -> tuple[float, str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-B", "-s", str(script)],
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        check=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, out.stdout, cpu


ENFORCEMENT: dict[str, str] = {}


def sandboxed(work: Path, script: Path, seconds: int, cpus: int) -> tuple[float, str, float]:
    output = work / "output"
    if output.exists():
        for child in output.iterdir():
            child.unlink()
    job = SandboxJob(
        code_dir=script.parent,
        entrypoint=script.name,
        task_dir=work / "task",
        output_dir=output,
        limits=SandboxLimits(
            wall_seconds=seconds * 4 + 60, cpu_seconds=seconds * 4 + 60, cpus=cpus
        ),
    )
    started = time.perf_counter()
    result = BubblewrapBackend().run(job)
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"the sandboxed run failed: {result.message}\n{result.log_tail}")
    ENFORCEMENT.update(result.enforcement)
    return elapsed, result.log_tail, result.cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5, help="start-up measurements")
    parser.add_argument("--long-repeat", type=int, default=3, help="long runs of each kind")
    parser.add_argument("--cpus", type=int, default=0, help="a CPU quota in cores (0: none)")
    args = parser.parse_args()
    BubblewrapBackend().check()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        work = Path(tmp)
        (work / "task").mkdir()
        code = work / "code"
        code.mkdir()
        empty = code / "empty.py"
        empty.write_text("")
        direct_start = min(direct(empty)[0] for _ in range(args.repeat))
        sandbox_start = min(sandboxed(work, empty, 5, args.cpus)[0] for _ in range(args.repeat))

        calibrate = code / "calibrate.py"
        calibrate.write_text(CALIBRATE.format(seconds=args.seconds))
        iterations = int(direct(calibrate)[1].strip())
        fixed = code / "fixed.py"
        fixed.write_text(FIXED.format(iterations=iterations))
        direct_runs, sandbox_runs = [], []
        for _ in range(args.long_repeat):  # interleaved, so both see the same load
            direct_runs.append(direct(fixed))
            sandbox_runs.append(sandboxed(work, fixed, args.seconds, args.cpus))
        assert direct_runs[0][1].strip() == sandbox_runs[0][1].strip()
        direct_long = min(r[0] for r in direct_runs)
        sandbox_long = min(r[0] for r in sandbox_runs)
        direct_cpu = min(r[2] for r in direct_runs)
        sandbox_cpu = min(r[2] for r in sandbox_runs)

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(
        f"start-up (empty script, best of {args.repeat}): direct {direct_start:.3f} s, "
        f"sandbox {sandbox_start:.3f} s, sandbox overhead {sandbox_start - direct_start:.3f} s"
    )
    print(
        f"CPU-bound run (best of {args.long_repeat}, interleaved): wall direct "
        f"{direct_long:.2f} s, sandbox {sandbox_long:.2f} s, ratio "
        f"{sandbox_long / direct_long:.3f}x; CPU direct {direct_cpu:.2f} s, sandbox "
        f"{sandbox_cpu:.2f} s, ratio {sandbox_cpu / direct_cpu:.3f}x"
    )
    print("limits, as enforced here:")
    for name, how in ENFORCEMENT.items():
        print(f"  {name}: {how}")


if __name__ == "__main__":
    main()
