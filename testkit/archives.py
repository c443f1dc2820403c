"""Algorithm archives for the tests: honest ones and hostile ones, built in memory."""

from __future__ import annotations

import io
import stat
import textwrap
import zipfile

HONEST_MAIN = """
import json, os
from pathlib import Path

import pandas as pd

task = Path(os.environ["TASK_DIR"])
out = Path(os.environ["OUTPUT_DIR"])
meta = json.loads((task / "task.json").read_text())
train = pd.read_parquet(task / "train.parquet")
test = pd.read_parquet(task / "test.parquet")
if meta["kind"] == "matching":
    # A pair matches when its first left/right attributes agree, ignoring case.
    lefts = [c for c in test.columns if c.startswith("left_")]
    a, b = lefts[0], "right_" + lefts[0][len("left_"):]
    label = (test[a].astype(str).str.lower() == test[b].astype(str).str.lower()).astype(int)
else:
    label = [train["label"].mode()[0]] * len(test)  # the majority class
pd.DataFrame({"id": test["id"], "label": label}).to_csv(out / "predictions.csv", index=False)
print(f"wrote {len(test)} predictions for {meta['slug']}")
"""


def manifest(name: str = "Honest", entrypoint: str = "main.py", description: str = "") -> str:
    description = description or "A *simple* method.\n\n<script>alert(1)</script>"
    return (
        f"name: {name}\n"
        f"entrypoint: {entrypoint}\n"
        "description: |\n" + textwrap.indent(description, "  ") + "\n"
    )


def make_zip(files: dict[str, str | bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def algorithm_zip(main: str = HONEST_MAIN, *, name: str = "Honest", **extra: str) -> bytes:
    return make_zip({"algorithm.yaml": manifest(name), "main.py": textwrap.dedent(main), **extra})


def bomb_zip(size: int = 200 * 1024 * 1024) -> bytes:
    """An archive whose one member unpacks from a few hundred KB to ``size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("algorithm.yaml", manifest("Bomb"))
        archive.writestr("main.py", "print('hi')\n")
        with archive.open("weights.bin", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()
