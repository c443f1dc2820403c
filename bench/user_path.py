"""The user's path for the benches: the commands a user runs, on ids of every common shape.

``bench/bench_scoring.py --command`` and ``bench/bench_scale.py --steps import-command``
time ``manage.py score_file`` and ``manage.py import_task`` as a user runs them: a fresh
process each (the interpreter, Django and every import included), on a site of its own
(:class:`Site`: a temporary ``DATA_DIR`` with a migrated SQLite database and a private
Redis), against a floor run the same way (a fresh ``python`` that reads the same files with
pyarrow). Id shapes (:data:`ID_SHAPES`):

- ``padded``: a prefix and a zero-padded integer in row order (``r0000042``);
- ``counted``: a prefix and an integer without padding (``r0`` ... ``r2999999``, the most
  common shape of real ids);
- ``integers``: plain integers (``0``, ``1``...; integer columns in the Parquet files, as
  pandas writes them);
- ``uuid``: random UUIDs (version 4 form);
- ``strings``: free strings of several lengths (``north-acme-48213907``).
"""

from __future__ import annotations

import binascii
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]
ID_SHAPES = ("padded", "counted", "integers", "uuid", "strings")
_WORDS = np.array(["north", "south", "acme", "globex", "item", "x", "sku", "lot-b"])


def make_ids(shape: str, start: int, n: int, *, total: int, seed: int = 0) -> pa.Array:
    """Ids ``start`` .. ``start + n - 1`` of a column of ``total`` rows, in row order, of
    ``shape`` (random ones drawn from ``seed`` and ``start``, so each part is the same in
    every call)."""
    numbers = np.arange(start, start + n)
    if shape == "padded":
        width = len(str(max(total - 1, 0)))
        digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
        return pc.binary_join_element_wise("r", digits, "")
    if shape == "counted":
        return pc.binary_join_element_wise("r", pa.array(numbers).cast(pa.string()), "")
    if shape == "integers":
        return pa.array(numbers, pa.int64())
    rng = np.random.default_rng([seed, start])
    if shape == "uuid":
        raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
        hexed = np.frombuffer(binascii.hexlify(raw.tobytes()), dtype=np.uint8).reshape(n, 32)
        text = np.full((n, 36), ord("-"), dtype=np.uint8)
        groups = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))  # 8-4-4-4-12 hex digits
        for at, (lo, hi) in zip((0, 9, 14, 19, 24), groups, strict=True):
            text[:, at : at + hi - lo] = hexed[:, lo:hi]
        offsets = np.arange(n + 1, dtype=np.int32) * 36
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text.tobytes())
        )
    if shape == "strings":  # distinct: the row number is in each id, among random words
        first = pa.array(_WORDS[rng.integers(0, len(_WORDS), n)])
        second = pa.array(_WORDS[rng.integers(0, len(_WORDS), n)])
        tail = pa.array(numbers * 7919 % (10 * max(total, 1)) + numbers % 7).cast(pa.string())
        return pc.binary_join_element_wise(first, second, tail, "-")
    raise ValueError(f"unknown id shape {shape!r}")


def timed(command: Sequence[str], *, env: dict[str, str], cwd: Path = REPO) -> tuple[float, str]:
    """Wall seconds of a fresh process running ``command`` (it must succeed), and its
    standard output."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def python_floor(script: str, *args: str | Path) -> list[str]:
    """The floor's command: a fresh interpreter running ``script`` (imports of pyarrow
    included, as the command's own are)."""
    return [sys.executable, "-c", script, *map(str, args)]


# Where the caller's environment points a platform at its own database, files, mail or
# broker (a developer's shell, CI's PostgreSQL): the bench's site is a SQLite database and
# files in its own folder, with a Redis of its own, whatever the caller's are.
NOT_THE_BENCH_S = ("DATABASE_URL", "STORAGE_BACKEND", "AWS_", "EMAIL_", "CELERY_")


@dataclass
class Site:
    """A platform of its own for the bench: ``DATA_DIR`` (SQLite, media, private files), a
    private Redis; ``manage`` runs ``manage.py`` as a user would, with ``code``'s checkout
    (this one, or a ``--before`` revision's)."""

    folder: Path
    redis_url: str
    code: Path = REPO  # whose migrations made the database: the default of ``manage``

    def env(self, code: Path = REPO) -> dict[str, str]:
        """The command's environment. Without ``PYTHONDONTWRITEBYTECODE`` (set on this
        machine and in CI): a user's checkout, and the image (its Dockerfile compiles the
        tree), start from bytecode, where compiling the platform's modules again would add
        0.7 s to every command; the first of the bench's runs writes it."""
        environ = {
            k: v
            for k, v in os.environ.items()
            if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(NOT_THE_BENCH_S)
        }
        return {
            **environ,
            "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.local",
            "DATA_DIR": str(self.folder),
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": secrets.token_urlsafe(50),  # a throwaway install of the bench
            "PYTHONPATH": str(code),
            "LOG_LEVEL": "WARNING",
        }

    def manage_command(self, *args: str | Path, code: Path | None = None) -> list[str]:
        return [sys.executable, str((code or self.code) / "manage.py"), *map(str, args)]

    def manage(self, *args: str | Path, code: Path | None = None) -> tuple[float, str]:
        """Seconds and output of ``manage.py *args`` in a fresh process (with the site's own
        code unless ``code`` says otherwise)."""
        code = code or self.code
        return timed(self.manage_command(*args, code=code), env=self.env(code), cwd=code)


class SiteRunning:
    """``with SiteRunning() as site:`` a :class:`Site` in a temporary folder, migrated by
    ``code``'s migrations (a ``--before`` revision older than this checkout's migrations
    needs a database of its own: on this checkout's its commands would write rows the newer
    schema refuses), removed at the end with its Redis."""

    def __init__(self, folder: Path | None = None, *, code: Path = REPO) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="bench-site-"))
        self.code = code
        self.redis = None

    def __enter__(self) -> Site:
        from runtime.localredis import start_local_redis

        self.redis = start_local_redis(self.folder / "redis", port=None)
        site = Site(folder=self.folder, redis_url=self.redis.url, code=self.code)
        try:
            site.manage("migrate", "--no-input", "-v", "0")
        except BaseException:
            self.__exit__()
            raise
        return site

    def __exit__(self, *exc: object) -> None:
        import shutil

        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        shutil.rmtree(self.folder, ignore_errors=True)


def failure_reason(exc: SystemExit) -> str:
    """The last line a failed command wrote (:func:`timed`'s exit message): why it failed."""
    lines = [line.strip() for line in str(exc.code or "").splitlines() if line.strip()]
    return lines[-1] if lines else "it failed"


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def write_scoring_task(
    folder: Path, *, shape: str, rows: int, classes: Sequence[str], slug: str, seed: int = 0
) -> dict[str, Path]:
    """A classification bundle whose ``rows`` test ids have ``shape`` (one numeric feature,
    1,000 train rows), and submissions with probabilities, shuffled: Parquet and CSV.
    Returns the bundle folder and the submissions by name."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    bundle = folder / "bundle"
    bundle.mkdir(parents=True)
    (bundle / "task.yaml").write_text(
        f"slug: {slug}\ntitle: {slug}\nkind: classification\ncolumns: {{f: numeric}}\n"
    )
    names = pa.array(list(classes))
    train_rows = 1000
    train_ids = pa.array(np.arange(train_rows)).cast(pa.string())
    pq.write_table(
        pa.table(
            {
                "id": pc.binary_join_element_wise("t", train_ids, ""),
                "f": rng.random(train_rows),
                "label": names.take(np.arange(train_rows) % len(classes)),
            }
        ),
        bundle / "train.parquet",
    )
    ids = make_ids(shape, 0, rows, total=rows, seed=seed)
    pq.write_table(pa.table({"id": ids, "f": rng.random(rows)}), bundle / "test.parquet")
    truth = rng.integers(0, len(classes), rows)
    pq.write_table(pa.table({"id": ids, "label": names.take(truth)}), bundle / "solution.parquet")
    proba = rng.dirichlet(np.ones(len(classes)) * 0.5, rows)
    columns = {"id": ids, "label": names.take(proba.argmax(axis=1))}
    columns.update({f"proba_{c}": proba[:, j] for j, c in enumerate(classes)})
    shuffled = pa.table(columns).take(rng.permutation(rows))
    paths = {"bundle": bundle, "parquet shuffled": folder / "submission.parquet"}
    pq.write_table(shuffled, paths["parquet shuffled"])
    paths["csv shuffled"] = folder / "submission.csv"
    pacsv.write_csv(shuffled, paths["csv shuffled"])
    return paths
