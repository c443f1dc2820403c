"""Derive the sandbox's seccomp allow-list again (``algorithms/sandbox/seccomp.py``).

Runs the honest programs in the real sandbox under ``strace -f`` (pytest with the plugin
``tests/support/seccomp_trace.py``, which gives each run a filter that allows every call),
then prints the system calls they made that ``seccomp.ALLOWED`` lacks, those it allows that
no traced program made (kept: siblings and fallbacks, see the module), and the first
argument of every ``socket``/``socketpair``/``personality`` call. Exits 1 when a call is
missing: add it to its group in ``seccomp.py`` (or find out why the runtime needs it).

    .venv/bin/python scripts/seccomp_trace.py              # the default witnesses, ~10 min
    .venv/bin/python scripts/seccomp_trace.py tests/x.py::test_y   # other sandboxed tests

Needs ``strace`` (``apt-get install strace``) and bubblewrap; run it as the workers run
(root drops to the sandbox's uid, as in production). The trace folder is kept
(``--keep DIR``; default a fresh folder under ``/var/tmp``: not ``/tmp``, which a root
worker's sandbox setup hides).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from algorithms.sandbox import seccomp

REPO = Path(__file__).resolve().parents[1]

# The honest runtimes: the witnesses, then the AutoGluon baseline on three task kinds.
WITNESSES = [
    "tests/algorithms_tests/test_seccomp_allowlist.py::test_the_standard_library_runs_under_the_allow_list",
    "tests/algorithms_tests/test_seccomp_allowlist.py::test_the_data_and_learning_libraries_run_under_the_allow_list",
    "tests/scoring_tests/test_baseline_runner.py::test_classification_baseline_beats_chance_on_a_sample_predicting_in_batches",
    "tests/scoring_tests/test_baseline_runner.py::test_matching_baseline_beats_chance",
    "tests/scoring_tests/test_baseline_runner_regression.py::test_regression_baseline_beats_the_mean_on_a_decile_sample",
]  # fmt: skip


def trace(tests: list[str], folder: Path) -> dict:
    """Run ``tests`` with the tracing plugin; the plugin's summary (``calls.json``)."""
    out = folder / "calls.json"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.test",
        "DATA_DIR": os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="seccomp-data-"),
        "SECCOMP_TRACE_DIR": str(folder),
        "SECCOMP_TRACE_OUT": str(out),
    }
    command = [
        sys.executable, "-m", "pytest", "-p", "tests.support.seccomp_trace", "-q",
        "-p", "no:cacheprovider", "-o", "timeout=3600", *tests,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the traced tests failed (exit {result.returncode}); see above")
    return json.loads(out.read_text())


def report(found: dict) -> int:
    calls = set(found["calls"])
    known = seccomp.ALLOWED | set(seccomp.CONDITIONAL) | set(seccomp.NOT_IMPLEMENTED)
    missing = sorted(calls - known)
    print(f"{found['runs']} sandboxed runs traced; {len(calls)} distinct system calls")
    print("calls allowed by their arguments:", ", ".join(sorted(found["arguments"])) or "none")
    print("allowed but not made by any traced program:", ", ".join(sorted(seccomp.ALLOWED - calls)))
    if missing:
        print("MISSING from seccomp.ALLOWED:", ", ".join(missing))
        return 1
    print("every call the honest programs made is allowed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", nargs="*", help="pytest ids to trace (default: the witnesses)")
    parser.add_argument("--keep", type=Path, help="the trace folder (default: a new one)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="seccomp-trace-", dir="/var/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"tracing into {folder}")
    return report(trace(args.tests or WITNESSES, folder))


if __name__ == "__main__":
    raise SystemExit(main())
