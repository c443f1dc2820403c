"""Entrypoint of the AutoGluon baseline algorithm: ``/task`` in, ``/output`` out.

The platform sets the options in the environment (``BASELINE_*``); see ``runner.py``.
"""

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if (ROOT / "autogluon_baseline").is_dir():  # the archive: main.py next to the package
    sys.path.insert(0, str(ROOT))


def _argv() -> list[str]:
    env = os.environ
    argv = [
        "--task-dir", env.get("TASK_DIR", "/task"),
        "--out-dir", env.get("OUTPUT_DIR", "/output"),
        "--time-limit", env.get("BASELINE_TIME_LIMIT", "120"),
        "--presets", env.get("BASELINE_PRESETS", "medium_quality"),
        "--max-train-rows", env.get("BASELINE_MAX_TRAIN_ROWS", "0"),
        "--predict-batch-rows", env.get("BASELINE_PREDICT_BATCH_ROWS", "100000"),
    ]  # fmt: skip
    if env.get("BASELINE_WITHOUT_MODELS"):
        argv += ["--without-models", env["BASELINE_WITHOUT_MODELS"]]
    if env.get("BASELINE_NUM_CPUS"):
        argv += ["--num-cpus", env["BASELINE_NUM_CPUS"]]
    if env.get("BASELINE_PACK_MODEL") == "1":
        argv.append("--pack-model")
    if env.get("BASELINE_MODEL_FROM"):
        argv += ["--model-from", env["BASELINE_MODEL_FROM"]]
    if env.get("BASELINE_MEMORY_LIMIT_GB"):
        argv += ["--memory-limit-gb", env["BASELINE_MEMORY_LIMIT_GB"]]
    return argv


if __name__ == "__main__":
    runner = importlib.import_module("autogluon_baseline.runner")
    sys.exit(runner.main(_argv()))
