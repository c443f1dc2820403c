"""Helpers of test_score_file_command.py that other test modules use too (no test module imports
another: tests/platform_tests/test_test_imports.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.celery_worker import REPO, manage_env


def run_score_file(*commands: tuple[str, ...]) -> list[subprocess.CompletedProcess]:
    """Run ``manage.py score_file`` once per argument tuple, concurrently (startup is slow)."""
    env = manage_env()
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "score_file", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for process, args in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return results


