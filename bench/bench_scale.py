"""Catalog scale: a synthetic multimodal bundle of N test rows from bundle to board.

Builds a classification bundle (Parquet by default, ``--fmt csv`` for CSV) with a short text
column (``title``, 4-7 words), a numeric (``price``, 1% missing) and a categorical
(``brand``, 200 values) column: N test rows (default 30M; ``BENCH_SCALE_ROWS`` or
``--rows``) and N/2 train rows, plus a submission. Then runs each step in its own process
and prints its seconds and peak memory (the child's max RSS) against a floor measured in the
same run on the same files:

- import: ``datasets.core.prepare_task`` (validate, standardize, split, card) against the
  floor "pyarrow reads every bundle file whole and writes the standardized train/test as
  Parquet and CSV and the solution as Parquet";
- score: ``load_solution`` + ``score_file`` against pyarrow reading the solution and the
  submission;
- bootstrap: ``bootstrap_leaderboard`` (``--resamples``, 2 entries, one split) against
  drawing the same resamples' row indices;
- download: test.parquet and test.csv through the platform's download response
  (``ranged_file_response``: whole, then resumed from the middle with ``Range``) against
  reading the same bytes in 1 MiB chunks.

- import-command: ``manage.py import_task`` as a user runs it (a fresh process: the
  interpreter, Django, validation, standardization, the files moved into storage, the rows),
  on a site of the bench's own (``bench/user_path.py``), for each bundle of ``--bundles``:
  ``scale`` (the bundle above, N test and N/2 train rows, 5 classes) once per id shape of
  ``--ids`` (padded, counted ``r0`` ... ``r9999999``, plain integers, UUIDs, free strings);
  ``catalog`` (issue 54's shape: N test rows, ``--train-rows`` train rows (default N/10:
  1M at 10M), 200 uneven classes, a five-word title, a price, a brand, counted ``p`` ids
  with gaps, types inferred) and ``matching`` (a matching bundle of 100 product categories
  with left/right titles, categories and prices, types inferred): ``bench/catalog_shapes.py``.
  The floor is run the same way: a fresh ``python`` that reads every bundle file whole with
  pyarrow and writes the standardized train and test as Parquet and CSV and the solution as
  Parquet, ids as text (the data contract's type), the least work the command's output
  needs (it leaves out the checks, the card, the split, the database and the storage).
  Target (issue 68; issue 54's was 1.8x): <= 1.2x the floor and <= 2 GB (1.86 GiB; the table
  prints GiB) of peak memory (each process's own, from ``wait4``) at 10M rows, every bundle.
  With ``--before``, that revision's command (a git revision, or a checkout folder run with
  its own ``.venv``) on its own site, in turn.

The import's memory model (docs/developers/data-contract.md): peak memory grows with the id and
label columns (the bundle checks hold them whole), not with the feature columns, which are
streamed in batches. The bench checks it: ``--check`` exits 1 when the import takes more
than 3x its floor or peaks over 3 GiB.

With ``--before <git revision>`` each step also runs with that revision's code (``git
archive``; the child process imports it first), against the same floor: a before/after in
one run. ``import-command`` runs that revision's command on a site of its own, migrated by
its own migrations (on this checkout's database an older revision writes rows the newer
schema refuses). A revision that cannot run a step (no ``manage.py``, a failed migrate, a
step it does not have) is left out, with the reason printed, and the bench goes on without
its column. ``--keep DIR --reuse`` builds the bundle once and reuses it.

Run: .venv/bin/python bench/bench_scale.py [--rows 10000000] [--fmt parquet|csv]
     [--steps import score bootstrap download] [--resamples 20] [--keep DIR [--reuse]]
     [--check] [--before main]
     .venv/bin/python bench/bench_scale.py --steps import-command   # 10M rows, every bundle
     .venv/bin/python bench/bench_scale.py --steps import-command --rows 200000 --ids counted
     .venv/bin/python bench/bench_scale.py --steps import-command --bundles catalog matching \
         --repeat 3 --before ../main-checkout     # the starting code, its own .venv, in turn
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# Its sibling module, also for the steps' children (run with -P, the code under test first).
sys.path.append(str(Path(__file__).resolve().parent))
from scale_bundle import CLASSES, build_bundle

STEPS = ("import", "score", "bootstrap", "download", "import-command")
ID_SHAPES = ("padded", "counted", "integers", "uuid", "strings")  # bench/user_path.py's
GIB = 1024**3


# --- the steps, each run in a child process: python bench_scale.py --child STEP DIR ------


def _floor_import(folder: Path, out: Path) -> None:
    out.mkdir()
    for part in ("train", "test", "solution"):
        path = next(folder.glob(f"{part}.*"))
        table = pacsv.read_csv(path) if path.suffix == ".csv" else pq.read_table(path)
        pq.write_table(table, out / f"{part}.parquet")
        if part != "solution":
            pacsv.write_csv(table, out / f"{part}.csv")


def _import(folder: Path, out: Path) -> None:
    from datasets.core import prepare_task

    prepare_task(folder, work_dir=out, max_rows=10**9, max_file_bytes=64 * GIB)


def _floor_score(folder: Path, task: Path) -> None:
    pq.read_table(task / "task" / "private" / "solution.parquet")
    pq.read_table(folder / "submission.parquet")


def _score(folder: Path, task: Path) -> None:
    from scoring.core import load_solution, score_file

    meta = json.loads((task / "task" / "task.json").read_text())
    solution = load_solution(
        task / "task" / "private" / "solution.parquet",
        kind="classification",
        classes=meta["classes"],
    )
    score_file(folder / "submission.parquet", solution)


def _bootstrap_case(folder: Path, task: Path) -> tuple[np.ndarray, list[np.ndarray], int]:
    solution = pq.read_table(task / "task" / "private" / "solution.parquet", columns=["label"])
    submission = pq.read_table(folder / "submission.parquet", columns=["label"])
    names = pa.array(CLASSES)
    y = pc.index_in(solution["label"], value_set=names).to_numpy()
    first = pc.index_in(submission["label"], value_set=names).to_numpy()
    second = np.where(np.arange(len(y)) % 3 == 0, y, first)
    return y, [first, second], int(os.environ.get("BENCH_SCALE_RESAMPLES", "20"))


def _floor_bootstrap(folder: Path, task: Path) -> None:
    from leaderboard.core.bootstrap import resample_indices

    y, _, resamples = _bootstrap_case(folder, task)
    for _ in resample_indices(n=len(y), seed=0, n_resamples=resamples):
        pass


def _bootstrap(folder: Path, task: Path) -> None:
    from leaderboard.core.bootstrap import bootstrap_leaderboard

    y, preds, resamples = _bootstrap_case(folder, task)
    bootstrap_leaderboard(y=y, preds=preds, kind="classification", n_resamples=resamples)


def _download_files(task: Path) -> list[Path]:
    return [task / "task" / "test.parquet", task / "task" / "test.csv"]


def _floor_download(folder: Path, task: Path) -> None:
    for path in _download_files(task):
        half = path.stat().st_size // 2
        for offset in (0, half):  # the same bytes the download step sends
            with path.open("rb") as handle:
                handle.seek(offset)
                while handle.read(1024 * 1024):
                    pass


def _download(folder: Path, task: Path) -> float:
    """The platform's download view body (``ranged_file_response``: 200, then a resumed 206),
    timed after Django's set-up, which a serving process has done long before."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.test")
    django.setup()
    from django.core.files.storage import FileSystemStorage
    from django.test import RequestFactory

    from datasets.downloads import ranged_file_response

    storage = FileSystemStorage(location=task / "task")
    factory = RequestFactory()
    started = time.perf_counter()
    for path in _download_files(task):
        half = path.stat().st_size // 2
        for headers in ({}, {"Range": f"bytes={half}-"}):  # whole, then the resumed half
            response = ranged_file_response(
                request=factory.get("/", headers=headers),
                storage=storage,
                name=path.name,
                filename=path.name,
            )
            for _chunk in response.streaming_content:
                pass
            response.close()
    return time.perf_counter() - started


CHILDREN = {
    "floor-import": _floor_import,
    "import": _import,
    "floor-score": _floor_score,
    "score": _score,
    "floor-bootstrap": _floor_bootstrap,
    "bootstrap": _bootstrap,
    "floor-download": _floor_download,
    "download": _download,
}


def peak_rss_gib() -> float:
    """This process's peak resident memory (VmHWM: per address space, reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / GIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


REPO = Path(__file__).resolve().parent.parent


def run_child(step: str, folder: Path, out: Path, code: Path = REPO) -> tuple[float, float]:
    """Seconds (the step alone, imports excluded) and peak RSS (GiB) of a fresh process
    running ``code``'s packages (this checkout's, or ``--before``'s)."""
    root = code
    result = subprocess.run(
        [sys.executable, "-P", __file__, "--child", step, str(folder), str(out)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["seconds"], report["peak_gib"]


# The ids are written as text, as the data contract stores them (``id (string)``): a floor
# that kept integer ids as integers would do less than the import on that shape.
FLOOR_IMPORT = """
import sys
from pathlib import Path
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir()
text_ids = pacsv.ConvertOptions(column_types={"id": pa.string()})
for part in ("train", "test", "solution"):
    path = next(folder.glob(f"{part}.*"))
    if path.suffix == ".csv":
        table = pacsv.read_csv(path, convert_options=text_ids)
    else:
        table = pq.read_table(path)
        at = table.schema.get_field_index("id")
        table = table.set_column(at, "id", table["id"].cast(pa.string()))
    pq.write_table(table, out / f"{part}.parquet")
    if part != "solution":
        pacsv.write_csv(table, out / f"{part}.csv")
"""


IMPORT_TARGET = 1.2  # issue 68: ``manage.py import_task`` <= 1.2x its floor on every shape
IMPORT_PEAK_GIB = 2e9 / GIB  # and <= 2 GB (1.86 GiB) of peak memory at 10M rows


def _cases(args: argparse.Namespace) -> list[tuple[str, dict[str, object]]]:
    """The bundles ``import-command`` imports, by their label in the table: the scale
    bundle once per id shape of ``--ids``, then each shape of ``--bundles`` beside it
    (``bench/catalog_shapes.py``)."""
    cases: list[tuple[str, dict[str, object]]] = []
    for bundle in args.bundles:
        if bundle == "scale":
            cases += [(shape, {"bundle": "scale", "ids": shape}) for shape in args.ids]
        else:
            from catalog_shapes import VERSION

            case = {"bundle": bundle, "train_rows": args.train_rows, "version": VERSION}
            cases.append((bundle, case))
    return cases


def _build_case(folder: Path, args: argparse.Namespace, case: dict[str, object]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if case["bundle"] == "scale":
        build_bundle(folder, rows=args.rows, fmt=args.fmt, ids=str(case["ids"]))
        (folder / "submission.parquet").unlink()  # not part of the bundle
        return
    from catalog_shapes import build_shape

    build_shape(
        str(case["bundle"]),
        folder,
        rows=args.rows,
        train_rows=int(case["train_rows"]),  # type: ignore[call-overload]
        fmt=args.fmt,
    )


def import_command(args: argparse.Namespace, root: Path) -> None:
    """``--steps import-command``: ``manage.py import_task`` against its fresh-process floor,
    per bundle (module docstring): seconds (best of ``--repeat``) and peak memory."""
    from user_path import SiteRunning, failure_reason, load, measured, python_floor

    print(f"manage.py import_task, a fresh process per run, best of {args.repeat}; {load()}")
    site_folder = root / "site"
    shutil.rmtree(site_folder, ignore_errors=True)
    with SiteRunning(site_folder) as site, contextlib.ExitStack() as stack:
        sites = {"ours": site}
        if args.before and (was := _before_site(args.before, root, stack)) is not None:
            sites["before"] = was
        header = (
            f"{'rows':>11} {'bundle':<9} {'floor s':>8} {'ours s':>7} {'ours/floor':>10}"
            f" {'target':>7} {'met?':>5} {'floor GiB':>9} {'ours GiB':>8}"
            + (
                f" {'before s':>9} {'before/floor':>12} {'before GiB':>10}"
                if "before" in sites
                else ""
            )
        )
        print(header)
        print("-" * len(header))
        runs = 0
        for label, case in _cases(args):
            bundle = root / f"bundle-{label}"
            built = root / f"built-{label}.json"
            options = json.dumps({"rows": args.rows, "fmt": args.fmt, **case})
            if not (args.reuse and built.exists() and built.read_text() == options):
                _build_case(bundle, args, case)
                built.write_text(options)
            times: dict[str, list[float]] = {"floor": [], "ours": [], "before": []}
            peaks: dict[str, list[float]] = {"floor": [], "ours": [], "before": []}
            for _ in range(args.repeat):
                out = root / "floor-out"
                shutil.rmtree(out, ignore_errors=True)
                seconds, _, peak = measured(python_floor(FLOOR_IMPORT, bundle, out), env=site.env())
                times["floor"].append(seconds)
                peaks["floor"].append(peak)
                shutil.rmtree(out, ignore_errors=True)
                for name, on in list(sites.items()):
                    runs += 1
                    slug = f"scale-{label}-{runs}"
                    spec = (bundle / "task.yaml").read_text().splitlines()
                    spec[0] = f"slug: {slug}"
                    (bundle / "task.yaml").write_text("\n".join(spec) + "\n")
                    try:
                        seconds, _, peak = on.manage_measured(
                            "import_task", bundle, "--challenge", "scale", "--track", "scale"
                        )
                    except SystemExit as exc:
                        if name == "ours":
                            raise
                        _left_out(args.before, failure_reason(exc))
                        del sites[name]
                        continue
                    times[name].append(seconds)
                    peaks[name].append(peak)
                    for stored in ("media", "private"):  # the disk back, the rows stay
                        shutil.rmtree(on.folder / stored / "tasks" / slug, ignore_errors=True)
            floor_s, ours_s = min(times["floor"]), min(times["ours"])
            ratio = ours_s / floor_s
            met = ratio <= IMPORT_TARGET and max(peaks["ours"]) <= IMPORT_PEAK_GIB
            line = (
                f"{args.rows:>11,} {label:<9} {floor_s:>8.1f} {ours_s:>7.1f} {ratio:>9.2f}x"
                f" {IMPORT_TARGET:>6}x {'yes' if met else 'no':>5}"
                f" {max(peaks['floor']):>9.2f} {max(peaks['ours']):>8.2f}"
            )
            if "before" in sites:
                was = min(times["before"])
                line += f" {was:>9.1f} {was / floor_s:>11.2f}x {max(peaks['before']):>10.2f}"
            runs_s = ", ".join(
                f"{name} " + " ".join(f"{t:.1f}" for t in times[name])
                for name in ("floor", "ours", "before")
                if times[name]
            )
            print(line + f"  ({load()}; every run: {runs_s})", flush=True)


def _left_out(revision: str, reason: str) -> None:
    print(f"--before {revision}: the before column is left out: {reason}", flush=True)


def _before_site(revision: str, root: Path, stack: contextlib.ExitStack):
    """A site of the ``--before`` revision's own, migrated by its own migrations (entered on
    ``stack``), or None when that revision cannot make one (its reason printed)."""
    from bench_scoring import code_at
    from user_path import SiteRunning, failure_reason

    python = sys.executable
    if Path(revision).is_dir():  # a checkout of its own, with its own .venv when it has one
        code = Path(revision).resolve()
        if (code / ".venv" / "bin" / "python").exists():
            python = str(code / ".venv" / "bin" / "python")
    else:
        shutil.rmtree(root / "before-code", ignore_errors=True)
        code = code_at(revision, root / "before-code")
    if not (code / "manage.py").exists():
        _left_out(revision, "it has no manage.py")
        return None
    try:
        return stack.enter_context(SiteRunning(root / "site-before", code=code, python=python))
    except SystemExit as exc:
        _left_out(revision, f"its migrate failed: {failure_reason(exc)}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="test rows (default: $BENCH_SCALE_ROWS, else 30M; 10M for import-command)",
    )
    parser.add_argument(
        "--ids", nargs="+", choices=ID_SHAPES, default=list(ID_SHAPES), help="import-command's"
    )
    parser.add_argument(
        "--bundles",
        nargs="+",
        choices=("scale", "catalog", "matching"),
        default=["scale", "catalog", "matching"],
        help="import-command's bundles: the scale bundle per --ids, then bench/catalog_shapes.py's",
    )
    parser.add_argument(
        "--train-rows",
        type=int,
        default=None,
        help="import-command: the catalog and matching bundles' training rows (default:"
        " a tenth of --rows, the issue's 1M at 10M)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="import-command's runs (best)")
    parser.add_argument("--fmt", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS[:4]))
    parser.add_argument("--resamples", type=int, default=20, help="bootstrap resamples")
    parser.add_argument("--keep", type=Path, help="build the bundle in this folder and keep it")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: use the bundle already there when it was built with these options",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 over 3x floor or 3 GiB")
    parser.add_argument(
        "--before",
        help="also run each step with the code of this git revision (a before/after)",
    )
    args = parser.parse_args()
    if args.rows is None:
        default = 10_000_000 if args.steps == ["import-command"] else 30_000_000
        args.rows = int(os.environ.get("BENCH_SCALE_ROWS", default))
    if args.train_rows is None:
        args.train_rows = max(args.rows // 10, 1)
    os.environ["BENCH_SCALE_RESAMPLES"] = str(args.resamples)
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    if "import-command" in args.steps:
        try:
            import_command(args, root)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        args.steps = [s for s in args.steps if s != "import-command"]
        if not args.steps:
            return
    bundle, task = root / "bundle", root / "work"
    print(
        f"python {platform.python_version()}, pyarrow {pa.__version__}, {os.cpu_count()} CPUs,"
        f" load {os.getloadavg()[0]:.1f}; {args.rows:,} test + {args.rows // 2:,} train rows,"
        f" {args.fmt}",
        flush=True,
    )
    try:
        start = time.perf_counter()
        built = root / "built.json"  # the options of the bundle there, once it is complete
        options = json.dumps({"rows": args.rows, "fmt": args.fmt})
        if args.reuse and built.exists() and built.read_text() == options:
            print("bundle reused", flush=True)
        else:
            built.unlink(missing_ok=True)
            shutil.rmtree(bundle, ignore_errors=True)
            build_bundle(bundle, rows=args.rows, fmt=args.fmt)
            built.write_text(options)
        size = sum(p.stat().st_size for p in bundle.iterdir()) / GIB
        print(f"bundle ready in {time.perf_counter() - start:.1f} s ({size:.2f} GiB)", flush=True)
        header = ("ours s", 8), ("floor s", 8), ("ratio", 6), ("ours GiB", 9), ("floor GiB", 10)
        print(f"{'step':<10} " + " ".join(f"{name:>{width}}" for name, width in header))
        failed = False
        before = None
        if args.before:
            shutil.rmtree(root / "before-code", ignore_errors=True)
            from bench_scoring import code_at  # the bench's folder is the script's path

            before = code_at(args.before, root / "before-code")
        steps = ["import", *(s for s in args.steps if s != "import")]  # the others need the task
        for step in steps:
            if step == "import":
                for path in (task, root / "floor"):
                    shutil.rmtree(path, ignore_errors=True)
                floor_s, floor_gib = run_child("floor-import", bundle, root / "floor")
                shutil.rmtree(root / "floor", ignore_errors=True)
            else:
                floor_s, floor_gib = run_child(f"floor-{step}", bundle, task)
            if before is not None:
                # The import writes a task of its own; the other steps read the one task
                # that this revision's import made (``steps`` runs it first).
                was_task = root / "was" if step == "import" else task
                try:
                    was_s, was_gib = run_child(step, bundle, was_task, before)
                except SystemExit as exc:  # a revision that cannot run the step
                    from user_path import failure_reason

                    _left_out(args.before, failure_reason(exc))
                    before = None
                else:
                    print(
                        f"{'  before':<10} {was_s:8.1f} {floor_s:8.1f} {was_s / floor_s:6.2f}"
                        f" {was_gib:9.2f} {floor_gib:10.2f}  (load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
                if step == "import":
                    shutil.rmtree(root / "was", ignore_errors=True)
            ours_s, ours_gib = run_child(step, bundle, task)
            ratio = ours_s / floor_s
            print(
                f"{step:<10} {ours_s:8.1f} {floor_s:8.1f} {ratio:6.2f} {ours_gib:9.2f}"
                f" {floor_gib:10.2f}  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if step == "import" and (ratio > 3 or ours_gib > 3):
                failed = True
        if args.check and failed:
            print("import over 3x its floor or over 3 GiB", file=sys.stderr)
            raise SystemExit(1)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        started = time.perf_counter()
        timed = CHILDREN[sys.argv[2]](Path(sys.argv[3]), Path(sys.argv[4]))
        # a step that sets up Django first times its own work (a server is set up already)
        seconds = timed if timed is not None else time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "peak_gib": peak_rss_gib()}))
    else:
        main()
