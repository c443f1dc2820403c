"""``chal algorithm submit``: upload an algorithm and run it on every task of a track.

``chal algorithm submit DIR-OR-ZIP --track SLUG [--wait]``: a folder is zipped first (its
files, without ``__pycache__``, ``.git`` and other hidden folders; links are not
followed), then uploaded as a new version (``POST challenges/<slug>/algorithms/``) and run
on the track (``POST algorithms/<id>/runs/`` with ``{"track": slug}``). With ``--wait``,
one progress bar counts the finished runs and a line per task says how each ended; the
exit code is 1 when any run failed or was cancelled. A run that made a submission is
finished once scoring has finished that submission too: the run follows its submission's
final status (a submission that fails at scoring fails its run, with scoring's message).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .client import Client, CliError, UsageError, segment
from .robustness import add_show_run, robustness_line
from .waiting import HOLD_SECONDS, Watcher

RUN_FINAL = ("succeeded", "failed", "cancelled")
SUBMISSION_PENDING = ("queued", "scoring")


def _finished(run: dict[str, Any]) -> bool:
    """Final, and its submission (if any) scored or failed (a server without the
    ``submission_status`` field is taken at its word)."""
    return run["status"] in RUN_FINAL and run.get("submission_status") not in SUBMISSION_PENDING


SKIPPED_DIRS = ("__pycache__",)


def zip_folder(folder: Path, dest: Path) -> int:
    """Zip ``folder``'s regular files into ``dest`` (names relative to the folder); returns
    how many files were written. Hidden folders and ``__pycache__`` are left out; a link
    is refused, as the server would refuse it in the archive anyway."""
    import zipfile  # here, not at the top: a command's start imports only what it runs

    count = 0
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
            for name in sorted(files):
                path = Path(root) / name
                rel = path.relative_to(folder).as_posix()
                if path.is_symlink():
                    raise UsageError(f"{rel} is a link; an algorithm archive holds files only")
                if name.endswith((".pyc", ".pyo")):
                    continue
                archive.write(path, rel)
                count += 1
    if not count:
        raise UsageError(f"{folder} holds no files")
    return count


def _challenge_of_track(client: Client, track: str) -> str:
    tasks = client.get_all("tasks/", track=track)
    challenges = sorted({task["challenge"] for task in tasks})
    if not challenges:
        raise CliError(f"no track '{track}' with tasks (see `chal tasks`)")
    if len(challenges) > 1:
        raise UsageError(
            f"the track '{track}' exists in several challenges ({', '.join(challenges)}); "
            "name one with --challenge"
        )
    return challenges[0]


def cmd_algorithm_submit(
    args: argparse.Namespace, *, make_client: Callable[..., Client], print_json: Callable
) -> int:
    source = Path(args.path)
    if not source.exists():
        raise UsageError(f"no such folder or file: {source}")
    import tempfile
    import zipfile

    client = make_client(args, login=True)
    challenge = args.challenge or _challenge_of_track(client, args.track)
    # Ask first: a run the server would refuse (the challenge ended, the rules, the daily
    # limit...) is refused here, before anything is zipped or uploaded.
    client.get(f"challenges/{segment(challenge)}/algorithm-runs/admission/", track=args.track)
    fields = {"name": args.name} if args.name else {}
    with tempfile.TemporaryDirectory(prefix="chal-algorithm-") as tmp:
        if source.is_dir():
            archive = Path(tmp) / f"{source.resolve().name or 'algorithm'}.zip"
            zip_folder(source, archive)
        elif zipfile.is_zipfile(source):
            archive = source
        else:
            raise UsageError(f"{source} is neither a folder nor a .zip archive")
        version = client.upload(
            f"challenges/{segment(challenge)}/algorithms/", file=archive, fields=fields
        )
    queued = client.post(f"algorithms/{version['id']}/runs/", {"track": args.track})
    runs = queued["runs"]
    if not args.json:
        print(
            f"Algorithm {version['name']} v{version['version']} (id {version['id']}): "
            f"{len(runs)} run(s) queued on track {args.track}"
        )
    if args.wait:
        runs = _wait_runs(client, runs, timeout=args.timeout, quiet=args.json)
    if args.json:
        print_json({"algorithm": version, "runs": runs})
    bad = [run for run in runs if run["status"] in ("failed", "cancelled")]
    if bad:
        names = ", ".join(f"{run['task']} ({run['status']})" for run in bad)
        raise CliError(f"{len(bad)} of {len(runs)} run(s) did not succeed: {names}")
    return 0


# With several runs to wait for, a held read of one lasts at most this long before the
# others are read again (one run is held as long as the server allows).
SEVERAL_HOLD_SECONDS = 1.0


def _wait_runs(
    client: Client, runs: list[dict[str, Any]], *, timeout: float, quiet: bool
) -> list[dict[str, Any]]:
    """Wait until every run is final or ``timeout``: the server holds each read of a run
    until its status changes (one run alone as long as it allows; with several, a second,
    then the others are read); a bar counts the finished ones and each task's outcome is
    printed when it ends."""
    from tqdm import tqdm

    state = {run["id"]: run for run in runs}
    watchers = {pk: Watcher(client, f"algorithm-runs/{pk}/") for pk in state}
    deadline = time.monotonic() + timeout
    with tqdm(
        total=len(runs), desc="runs", unit="task", disable=True if quiet else None, leave=True
    ) as bar:
        finished: set[Any] = set()
        while True:
            left = [pk for pk in state if pk not in finished]
            for pk in left:
                watcher = watchers[pk]
                watcher.hold = HOLD_SECONDS if len(left) == 1 else SEVERAL_HOLD_SECONDS
                remaining = deadline - time.monotonic()
                fresh = watcher.next(max(remaining, 0.0))
                if fresh is None:
                    continue
                run = state[pk]
                fresh.setdefault("task", run.get("task"))
                shown = _progress(fresh)
                if shown != _progress(run) and not quiet:
                    bar.set_postfix_str(f"{fresh['task']}: {shown}")
                state[pk] = fresh
                if _finished(fresh):
                    finished.add(pk)
                    bar.update(1)
                    if not quiet:
                        bar.write(_run_line(fresh))
            if len(finished) == len(state):
                return list(state.values())
            if deadline - time.monotonic() <= 0:
                waiting = ", ".join(r["task"] for pk, r in state.items() if pk not in finished)
                raise CliError(
                    f"still running after {timeout:g} s: {waiting}; check later on the site"
                )


def _progress(run: dict[str, Any]) -> str:
    """What a run is doing, as the bar shows it (a succeeded run waits for its score)."""
    if run["status"] == "succeeded" and run.get("submission_status") in SUBMISSION_PENDING:
        return f"succeeded, submission {run['submission_status']}"
    return str(run["status"])


def _run_line(run: dict[str, Any]) -> str:
    line = f"{run['task']}: {run['status']}"
    if run.get("seconds") is not None:
        line += f" in {run['seconds']:.0f} s"
    if run["status"] == "succeeded" and run.get("submission"):
        line += f", submission {run['submission']}"
    line += robustness_line(run)
    if run.get("error"):
        line += f" - {' '.join(str(run['error']).split())[:300]}"
    return line


def add_parser(
    commands: Any,
    common: argparse.ArgumentParser,
    as_json: argparse.ArgumentParser,
    *,
    seconds: Callable[[str], float],
    handler: Callable[[argparse.Namespace], int],
    show_run: Callable[[argparse.Namespace], int] | None = None,
) -> None:
    """``chal algorithm submit`` (and ``show-run``, with its handler)."""
    algorithm = commands.add_parser("algorithm", help="upload an algorithm and run it")
    actions = algorithm.add_subparsers(dest="algorithm_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "submit",
        parents=[common, as_json],
        help="upload a folder or .zip as a new version and run it on every task of a track",
    )
    p.add_argument("path", metavar="DIR-OR-ZIP", help="the algorithm's folder or .zip")
    p.add_argument("--track", required=True, metavar="SLUG", help="run on this track's tasks")
    p.add_argument(
        "--challenge", metavar="SLUG", help="the track's challenge (default: found from the track)"
    )
    p.add_argument("--name", default="", help="the algorithm's name (default: algorithm.yaml's)")
    p.add_argument("--wait", action="store_true", help="wait for every run and show progress")
    p.add_argument(
        "--timeout",
        type=seconds,
        default=3600.0,
        metavar="SECONDS",
        help="how long --wait waits (default: 3600)",
    )
    p.set_defaults(handler=handler)
    if show_run is not None:
        add_show_run(actions, common, as_json, handler=show_run)
