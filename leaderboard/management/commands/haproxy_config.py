"""``haproxy_config --bind HOST:PORT --server NAME=HOST:PORT ...``: print the balancer's
configuration, with the public boards cached (``leaderboard/cache/proxy.py``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leaderboard.cache.proxy import BOARD_SERVER_SLOTS, COLLAPSE_WAIT_MS, haproxy_config


class Command(BaseCommand):
    help = (
        "Print an HAProxy configuration for the web servers: round robin with a health check,"
        " and HAProxy's cache for the public boards (anonymous reads)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", required=True, help="HOST:PORT the balancer listens on")
        parser.add_argument(
            "--server",
            action="append",
            required=True,
            metavar="NAME=HOST:PORT",
            help="a web server (gunicorn); give one --server per server",
        )
        parser.add_argument(
            "--per-server",
            type=int,
            default=3,
            help="requests at a time per server: its gunicorn workers (WEB_CONCURRENCY)",
        )
        parser.add_argument(
            "--boards-server",
            action="append",
            default=[],
            metavar="NAME=HOST:PORT",
            help="a board server (the Procfile's boards process, BOARDS_BIND): the anonymous "
            "board reads the cache cannot answer go there, never waiting behind uploads; one "
            "--boards-server per server (none: the web servers answer them)",
        )
        parser.add_argument(
            "--per-boards-server",
            type=int,
            default=BOARD_SERVER_SLOTS,
            help="requests at a time per board server: its workers x threads",
        )
        parser.add_argument("--health-host", default="localhost", help="Host of the checks")
        parser.add_argument(
            "--server-options", default="", help="added to each server line (HAProxy syntax)"
        )
        parser.add_argument("--no-cache", action="store_true", help="leave the boards' cache out")
        parser.add_argument(
            "--collapse-wait-ms",
            type=int,
            default=COLLAPSE_WAIT_MS,
            help="the longest an anonymous reader of an expired board waits for another "
            "reader's read of it (milliseconds; 0: no waiting, every miss reads itself)",
        )

    def handle(self, *args, **opts) -> None:
        servers = _servers("--server", opts["server"])
        board_servers = _servers("--boards-server", opts["boards_server"])
        taken = {name for name, _ in servers} & {name for name, _ in board_servers}
        if taken:
            raise CommandError(
                f"--boards-server: name {sorted(taken)[0]!r} is a --server's already",
                returncode=1,
            )
        for option in ("per_server", "per_boards_server"):
            if opts[option] < 1:
                raise CommandError(f"--{option.replace('_', '-')} must be at least 1", returncode=1)
        if not 0 <= opts["collapse_wait_ms"] <= 60_000:
            raise CommandError("--collapse-wait-ms must be between 0 and 60000", returncode=1)
        options = opts["server_options"].strip()
        self.stdout.write(
            haproxy_config(
                bind=opts["bind"],
                servers=servers,
                per_server=opts["per_server"],
                health_host=opts["health_host"],
                server_options=f" {options}" if options else "",
                cache=not opts["no_cache"],
                board_servers=board_servers,
                per_board_server=opts["per_boards_server"],
                collapse_wait_ms=opts["collapse_wait_ms"],
            ),
            ending="",
        )


def _servers(option: str, specs: list[str]) -> list[tuple[str, str]]:
    """``NAME=HOST:PORT`` values as ``(name, address)``; a CommandError naming the option
    for any other shape."""
    found = []
    for spec in specs:
        name, sep, address = spec.partition("=")
        if not sep or not name or ":" not in address:
            raise CommandError(f"{option} {spec!r}: expected NAME=HOST:PORT", returncode=1)
        found.append((name, address))
    return found
