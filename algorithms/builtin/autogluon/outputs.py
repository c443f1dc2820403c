"""Names of the files the baseline runner writes, shared by the runner and its launcher."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PREDICTIONS = "predictions.parquet"
LEADERBOARD = "leaderboard.csv"
FIT_LOG = "fit.log"
RESULT = "result.json"
MODEL_DIR = "model"
# stdout and stderr of the runner process (AutoGluon warnings, the one-line failure reason)
RUNNER_OUTPUT = "runner-output.log"
WRITTEN = (PREDICTIONS, LEADERBOARD, FIT_LOG, RESULT)


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 500 characters (a failure's reason, a log line)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON through a temporary file, so a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or {} when it is absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
