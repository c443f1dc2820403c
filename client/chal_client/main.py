"""``chal``: log in, list tasks, download data, submit and wait for the score, leaderboards,
final standings, upload an algorithm and run it on a track, check a release against a task's
champion.

Exit codes: 0 ok, 1 the server refused (or a submission failed, or the server is down),
2 a usage error, 141 the reader of the output went away (``chal ... | head``: nothing is
printed, as for a program killed by SIGPIPE). Expected failures print one plain line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import (
    algorithms,
    boards,
    config,
    discuss,
    phases,
    release,
    robustness,
    rules,
    standings,
    submissions,
)
from .client import ApiError, Client, CliError, NotLoggedIn, UsageError, segment
from .output import (
    table,
    utc_z,
)


def _client(args: argparse.Namespace, *, login: bool = False) -> Client:
    settings = config.resolve(args.server)
    client = Client(settings.server, settings.token)
    if login:
        client.require_login()
    return client


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --- login / logout -------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    """Exchange a username and password (or a pasted token) for a saved API token."""
    server = config.resolve(args.server).server
    if args.token is not None:
        token = args.token or getpass.getpass("API token: ").strip()
        if not token:
            raise UsageError("no token given")
        try:
            Client(server, token).get("submissions/", limit=1)
        except NotLoggedIn as exc:
            raise CliError(f"the server at {server} does not accept this token") from exc
        path = config.save(server=server, token=token)
        print(f"Token accepted by {server}; saved to {path}.")
        return 0
    username = args.username or input("Username: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {username}: ")
    if not username or not password:
        raise UsageError("a username and a password are needed (or --token)")
    try:
        answer = Client(server).post("auth/token/", {"username": username, "password": password})
    except ApiError as exc:
        if exc.status == 400:
            raise CliError(f"login refused: {exc}") from exc
        raise
    path = config.save(server=server, token=answer["token"])
    print(f"Logged in to {server} as {username}; token saved to {path}.")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    """Revoke the saved token on the server (``DELETE auth/token/``), then forget it.

    The local copy goes in any case; when the server cannot be told (unreachable, or the
    token was already revoked) the message says so."""
    settings = config.resolve(args.server)
    saved = config.load_file()
    note = ""
    if settings.token and saved.get("token") == settings.token:
        try:
            Client(settings.server, settings.token).request("DELETE", "auth/token/")
            note = "revoked on the server and "
        except NotLoggedIn:
            note = "already invalid on the server; "
        except CliError as exc:
            note = f"not revoked on the server ({exc}; revoke it on your token page); "
    path = config.save(server=settings.server, token=None)
    print(f"Token for {settings.server} {note}removed from {path}.")
    return 0


# --- tasks and downloads -----------------------------------------------------------------


def cmd_tasks(args: argparse.Namespace) -> int:
    """The tasks, optionally of one challenge."""
    client = _client(args)
    tasks = client.get_all("tasks/", challenge=args.challenge)
    if not tasks and args.challenge:
        # The server lists no task for an unknown slug; say which it is.
        known = {c.get("slug") for c in client.get_all("challenges/")}
        if args.challenge not in known:
            raise CliError(f"there is no challenge '{args.challenge}' (chal tasks lists them all)")
    if args.json:
        _print_json(tasks)
        return 0
    if not tasks:
        print("No tasks.")
        return 0
    rows = [
        [t["slug"], t["kind"], t["primary_metric"], t["train_rows"], t["test_rows"], t["track"]]
        for t in tasks
    ]
    print(table(["task", "kind", "metric", "train rows", "test rows", "track"], rows))
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    """Stream a task's train and test files (and its images) into a folder."""
    client = _client(args, login=True)
    task = client.get(f"tasks/{segment(args.task)}/")
    slug = task["slug"]  # the server's (validated) slug names the files, never the input
    available = task.get("files") or {}
    names = [f"train.{args.format}", f"test.{args.format}"]
    if "images.zip" in available:
        names.append("images.zip")
    folder = Path(args.dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    for name in names:
        dest = folder / f"{slug}-{name}"
        size = client.download(f"tasks/{segment(slug)}/files/{name}", dest, desc=dest.name)
        print(f"{dest}  ({_size(size)})")
    if args.croissant:
        _download_croissant(client, slug, folder)
    return 0


def _download_croissant(client: Client, slug: str, folder: Path) -> None:
    """``<slug>-croissant.json``: the task's Croissant description (mlcroissant loads the
    files it lists; ``manage.py import_task --croissant`` reads the files beside it)."""
    document = client.get(f"tasks/{segment(slug)}/croissant.json")
    if not isinstance(document, dict) or "@context" not in document:
        raise CliError(f"the server at {client.server} did not answer with a Croissant file")
    dest = folder / f"{slug}-croissant.json"
    part = folder / f".{dest.name}.part"
    part.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    part.replace(dest)
    print(f"{dest}  ({_size(dest.stat().st_size)})")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


# --- submissions -------------------------------------------------------------------------


def cmd_submit(args: argparse.Namespace) -> int:
    """Upload a prediction file; with --wait, wait until it is scored (see :mod:`.submissions`)."""
    return submissions.cmd_submit(args, make_client=_client, print_json=_print_json)


def cmd_submissions(args: argparse.Namespace) -> int:
    """The caller's team's submissions to a task (see :mod:`.submissions`)."""
    return submissions.cmd_submissions(args, make_client=_client, print_json=_print_json)


# --- leaderboards ------------------------------------------------------------------------


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """A task's or a track's leaderboard (see :mod:`.boards`)."""
    return boards.cmd_leaderboard(args, make_client=_client, print_json=_print_json)


# --- teams -------------------------------------------------------------------------------


def cmd_teams_create(args: argparse.Namespace) -> int:
    """Create a team in a challenge, with the caller in it."""
    client = _client(args, login=True)
    team = client.post(f"challenges/{segment(args.challenge)}/teams/", {"name": args.name})
    if args.json:
        _print_json(team)
    else:
        print(f"Created team {team['name']} in {team['challenge']}.")
        print(f"Invite code: {team['invite_code']}")
        print(f"Teammates join with: chal teams join {team['invite_code']}")
    return 0


def cmd_teams_join(args: argparse.Namespace) -> int:
    """Join a team with its invite code."""
    client = _client(args, login=True)
    team = client.post("teams/join/", {"code": args.code})
    if args.json:
        _print_json(team)
    else:
        members = ", ".join(team.get("members") or [])
        print(f"Joined team {team['name']} in {team['challenge']} (members: {members}).")
    return 0


# --- the command line --------------------------------------------------------------------


def cmd_algorithm_submit(args: argparse.Namespace) -> int:
    """Upload an algorithm and run it on a track (see :mod:`.algorithms`)."""
    return algorithms.cmd_algorithm_submit(args, make_client=_client, print_json=_print_json)


def cmd_algorithm_show_run(args: argparse.Namespace) -> int:
    """A run with its robustness per stress family (see :mod:`.robustness`)."""
    return robustness.cmd_show_run(args, make_client=_client, print_json=_print_json)


def cmd_standings(args: argparse.Namespace) -> int:
    """A challenge's final standings (see :mod:`.standings`)."""
    return standings.cmd_standings(args, make_client=_client, print_json=_print_json)


def cmd_release_check(args: argparse.Namespace) -> int:
    """Would a file be the task's champion? Exit 0 yes, 1 no, 3 cannot tell (:mod:`.release`)."""
    return release.cmd_release_check(args, make_client=_client, print_json=_print_json)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return value


def _version() -> str:
    from importlib import metadata  # 20 ms of a start: only for --version

    try:
        return metadata.version("chal-client")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kw: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"{parser.prog} {_version()}")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The ``chal`` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        metavar="URL",
        help=f"the platform's address (default: $CHAL_SERVER, the saved one, or "
        f"{config.DEFAULT_SERVER})",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print the server's JSON instead")

    parser = argparse.ArgumentParser(
        prog="chal",
        description="Command-line client of the challenge platform (REST API /api/v1/).",
        epilog="Configuration: $CHAL_CONFIG (default ~/.config/chal/config.json); "
        "$CHAL_SERVER and $CHAL_TOKEN override it.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show program's version number and exit"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("login", parents=[common], help="log in and save an API token")
    p.add_argument("--username", "-u", help="your username (asked when missing)")
    p.add_argument(
        "--token",
        nargs="?",
        const="",
        metavar="KEY",
        help="use an existing API token instead of a password (asked when no KEY is given)",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    p.set_defaults(handler=cmd_login)

    p = commands.add_parser("logout", parents=[common], help="forget the saved token")
    p.set_defaults(handler=cmd_logout)

    p = commands.add_parser("tasks", parents=[common, as_json], help="list the tasks")
    p.add_argument("--challenge", metavar="SLUG", help="only this challenge's tasks")
    p.set_defaults(handler=cmd_tasks)

    p = commands.add_parser(
        "download", parents=[common], help="download a task's train and test files"
    )
    p.add_argument("task", help="the task's slug")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--dir", default=".", help="folder to write to (default: current)")
    p.add_argument(
        "--croissant",
        action="store_true",
        help="also write <task>-croissant.json, the data's Croissant description",
    )
    p.set_defaults(handler=cmd_download)

    p = commands.add_parser("submit", parents=[common, as_json], help="upload predictions")
    p.add_argument("task", help="the task's slug")
    p.add_argument("file", help="CSV, gzipped CSV or Parquet with id, label[, proba_*|score]")
    p.add_argument("--note", default="", help="a note shown with the submission")
    p.add_argument("--wait", action="store_true", help="wait for the score and print it")
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="how long --wait waits (default: 600)",
    )
    p.set_defaults(handler=cmd_submit)

    p = commands.add_parser(
        "submissions", parents=[common, as_json], help="list your team's submissions"
    )
    p.add_argument("--task", metavar="SLUG", help="only this task's submissions")
    p.set_defaults(handler=cmd_submissions)

    p = commands.add_parser(
        "leaderboard",
        aliases=["board"],
        parents=[common, as_json],
        help="show a task's or a track's leaderboard",
    )
    p.add_argument("slug", metavar="TASK-OR-TRACK")
    p.add_argument("--split", choices=["public", "private"], default="public")
    p.add_argument(
        "--pairwise",
        action="store_true",
        help="on a track board, also print every pair of teams: the difference of their "
        "means, its interval and the verdict (better, worse, equivalent, undecided)",
    )
    p.add_argument(
        "--post-challenge",
        action="store_true",
        help="a task's post-challenge board (uploads after the end; never in the standings)",
    )
    p.set_defaults(handler=cmd_leaderboard)

    teams = commands.add_parser("teams", help="create or join a team")
    team_commands = teams.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    p = team_commands.add_parser(
        "create", parents=[common, as_json], help="create a team (you are its first member)"
    )
    p.add_argument("challenge", help="the challenge's slug")
    p.add_argument("name", help="the team's name")
    p.set_defaults(handler=cmd_teams_create)
    p = team_commands.add_parser("join", parents=[common, as_json], help="join with an invite code")
    p.add_argument("code", help="the invite code")
    p.set_defaults(handler=cmd_teams_join)

    algorithms.add_parser(
        commands,
        common,
        as_json,
        seconds=_positive_seconds,
        handler=cmd_algorithm_submit,
        show_run=cmd_algorithm_show_run,
    )
    standings.add_parser(commands, common, as_json, handler=cmd_standings)
    rules.add_parser(commands, common, as_json, make_client=_client, print_json=_print_json)
    phases.add_parser(commands, common, as_json, make_client=_client, print_json=_print_json)
    discuss.add_parser(commands, common, as_json, make_client=_client, print_json=_print_json)
    release.add_parser(commands, common, as_json, handler=cmd_release_check)
    return parser


def _describe(exc: CliError) -> str:
    text = str(exc)
    if isinstance(exc, ApiError) and exc.status == 429 and exc.retry_after is not None:
        head = "Daily limit reached" if exc.code == "daily_limit" else "Too many requests"
        text += f"\n{head}; try again after {utc_z(exc.retry_after)}."
    return text


# A program killed by SIGPIPE exits 128 + 13 in a shell (`yes | head`): so does chal when
# the reader of its output has gone.
READER_GONE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``chal`` command; returns the exit code (0 ok, 1 refused/failed, 2 usage,
    141 the reader of the output went away, as after ``chal ... | head``)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The pipe that standard output writes to was closed by its reader (``chal submit ... |
    head``): stop without a word, as a program killed by SIGPIPE does. Standard output is
    pointed at /dev/null so that the interpreter's flush at exit does not fail again and
    print "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real descriptor behind sys.stdout (a test's capture)
        pass
    return READER_GONE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        sys.stdout.flush()  # a reader gone is found here, not in the interpreter's exit
        return exc.code if isinstance(exc.code, int) else 2
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a reader gone is found here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        raise  # the output's reader went away (main): not a local file's error
    except CliError as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return exc.exit_code
    except EOFError:  # a prompt with standard input closed
        print("error: no input to read (give --username, or use --token)", file=sys.stderr)
        return 2
    except OSError as exc:  # the local disk: a folder not writable, a file not readable
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
