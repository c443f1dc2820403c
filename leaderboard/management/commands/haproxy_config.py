"""``haproxy_config --bind HOST:PORT --server NAME=HOST:PORT ...``: print the balancer's
configuration, with the public boards cached (``leaderboard/proxy.py``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leaderboard.proxy import haproxy_config


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
        parser.add_argument("--health-host", default="localhost", help="Host of the checks")
        parser.add_argument(
            "--server-options", default="", help="added to each server line (HAProxy syntax)"
        )
        parser.add_argument("--no-cache", action="store_true", help="leave the boards' cache out")

    def handle(self, *args, **opts) -> None:
        servers = []
        for spec in opts["server"]:
            name, sep, address = spec.partition("=")
            if not sep or not name or ":" not in address:
                raise CommandError(f"--server {spec!r}: expected NAME=HOST:PORT", returncode=1)
            servers.append((name, address))
        if opts["per_server"] < 1:
            raise CommandError("--per-server must be at least 1", returncode=1)
        options = opts["server_options"].strip()
        self.stdout.write(
            haproxy_config(
                bind=opts["bind"],
                servers=servers,
                per_server=opts["per_server"],
                health_host=opts["health_host"],
                server_options=f" {options}" if options else "",
                cache=not opts["no_cache"],
            ),
            ending="",
        )
