"""The balancer in front of the web servers, with the boards at the cost of a static file.

:func:`haproxy_config` writes the HAProxy configuration of a multi-host deployment
(the manual's, docs/operators/deploy-on-many-hosts.md, ``scripts/multihost.sh``'s,
``bench/rush.py``'s; ``manage.py haproxy_config`` prints it): round robin over the web servers with
a health check, and HAProxy's cache for the public boards (``leaderboard/cache/fastpath.py``):

- only ``GET``/``HEAD`` of a board's URL (task and track, page and API; the API when JSON is
  asked for, the form every client but a browser asks) without a cookie and without
  credentials is looked up and stored: what every anonymous reader gets alike. Anyone
  signed in goes to the servers, as before;
- a board is stored as long as its answer says (``Cache-Control: public, s-maxage=<grace>``,
  what is left of the grace for a stale one; ``no-cache``, never stored, without a grace),
  so no reader gets a board older than ``BOARD_CACHE_GRACE_SECONDS`` after a score;
- an anonymous board read the cache cannot answer goes to the board servers when the
  deployment runs them (``--boards-server``: the Procfile's ``boards`` process, a gunicorn of
  its own on each web host), whose threads no upload, status poll or signed-in page can
  take: it costs one Redis call there (the fast path), never a wait behind a rush of uploads
  for a thread. While no board server is up, or while as many reads already wait for them
  as they have slots (renders slowed down by a loaded host), it goes to the web servers,
  where it waits in the queue as if it had come ``BOARD_AHEAD_MS`` earlier (an upload is
  passed by at most that much);
- one read at a time per board (``collapse.lua``, loaded by HAProxy): HAProxy 2.6's cache
  has no request collapsing, so when a board's copy expired every reader of it missed at
  once and went to the servers. A reader of a board (host, method and URL) goes on while no
  other is out for it; one that comes while another is out waits in HAProxy, holding no
  server's slot, until that one is answered, then asks the cache (at most
  ``COLLAPSE_WAIT_MS``; a board the cache may not store, a quiet one, lets its readers through
  at once). It is done where the board reads go: the board servers' backend when there are
  some (a read that spilled over to the web goes on alone), else the web's;
- HAProxy 2.6's cache stores no answer that varies on anything but the encoding: the
  boards' ``Vary: Cookie, Authorization, Accept`` is what the rules above already decide, so
  it is removed from the stored copy (a browser revalidates it anyway: no freshness for it).

Keep-alive, from the reader to the database: a client keeps an idle connection at most 30 s
before it stops reusing it (``chal``), HAProxy keeps a reader's idle connection 60 s, and
gunicorn keeps HAProxy's 75 s (``WEB_KEEPALIVE``), so the side that closes an idle
connection is always the one that will not send on it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from django.urls import reverse

from .fastpath import FAST_ROUTES

CACHE_MB = 128
OBJECT_MAX_BYTES = 4 * 1024 * 1024  # a 1,000-team board page is well under 1 MiB
CACHE_MAX_SECONDS = 60  # an upper bound: each answer's s-maxage decides
SLUG_PLACEHOLDER = "BOARDSLUG"
# The misses of one board, one at a time (module docstring), read by HAProxy at its start.
COLLAPSE_LUA = Path(__file__).with_name("collapse.lua")
# How long a board's reader waits for another's read of it at most (milliseconds): past it,
# a leader slowed by a loaded host is not waited for; the reader goes on itself.
COLLAPSE_WAIT_MS = 1000
# The memory HAProxy lets its Lua use (megabytes): collapse.lua's tables need well under one
# (4,096 hashed keys each); a bound, so no script can take the balancer's memory.
LUA_MAXMEM_MB = 64
# How far ahead in the servers' queue an anonymous board read goes (milliseconds): about the
# time an upload holds a server's thread in a rush; a bound, so uploads are never starved.
BOARD_AHEAD_MS = 2000
# Requests at a time per board server: the Procfile's boards process's workers x threads
# (BOARDS_CONCURRENCY x BOARDS_THREADS).
BOARD_SERVER_SLOTS = 16


def board_path_pattern() -> str:
    """One regular expression matching the paths of every board the fast path serves (from
    the URL configuration: one home for the boards' addresses)."""
    paths = []
    for name in sorted(FAST_ROUTES):
        path = reverse(name, kwargs={"slug": SLUG_PLACEHOLDER})
        paths.append(re.escape(path).replace(SLUG_PLACEHOLDER, "[^/]+"))
    return "^(" + "|".join(paths) + ")$"


def api_board_path_pattern() -> str:
    """The API boards among them (whose answer depends on ``Accept``)."""
    paths = [
        re.escape(reverse(name, kwargs={"slug": SLUG_PLACEHOLDER})).replace(
            SLUG_PLACEHOLDER, "[^/]+"
        )
        for name in sorted(FAST_ROUTES)
        if name.startswith("api-")
    ]
    return "^(" + "|".join(paths) + ")$"


def haproxy_config(
    *,
    bind: str,
    servers: Sequence[tuple[str, str]],
    per_server: int,
    health_host: str = "localhost",
    server_options: str = "",
    cache: bool = True,
    board_servers: Sequence[tuple[str, str]] = (),
    per_board_server: int = BOARD_SERVER_SLOTS,
    collapse_wait_ms: int = COLLAPSE_WAIT_MS,
) -> str:
    """The configuration (module docstring): ``bind`` ``host:port``, ``servers`` as
    ``(name, host:port)``, at most ``per_server`` requests at a time per server (its
    gunicorn workers; the rest wait in HAProxy's queue). ``server_options`` are added to
    each server line; ``cache`` False leaves the boards' cache out (a comparison).
    ``board_servers`` (the Procfile's ``boards`` processes, ``per_board_server`` requests at
    a time each) answer the anonymous board reads the cache cannot; without them the web
    servers do. ``collapse_wait_ms``: the longest a board's reader waits for another's read of
    the same board (``collapse.lua``)."""
    lines = "\n".join(f"    server {name} {address}{server_options}" for name, address in servers)
    board_lines = "\n".join(
        f"    server {name} {address}{server_options}" for name, address in board_servers
    )
    reads = (
        _BOARD_READS.format(boards=board_path_pattern(), api_boards=api_board_path_pattern())
        if cache
        else ""
    )
    routed = (
        _BOARD_ROUTE.format(slots=per_board_server * len(board_servers))
        if cache and board_servers
        else ""
    )
    # The board reads' own backend waits for one read per board: the board servers' when
    # there are some (a read that spilled over to the web goes on alone: its leader could
    # wait there behind the uploads), else the web's.
    kept = _BOARDS_KEPT if cache else ""
    collapsed = _COLLAPSE + kept if cache else ""
    web_kept = kept if board_servers else collapsed
    ahead = _BOARDS_AHEAD.format(ahead=BOARD_AHEAD_MS) if cache else ""
    board_backend = (
        _BOARD_BACKEND.format(
            health_host=health_host,
            per_server=per_board_server,
            servers=board_lines,
            kept=collapsed,
            mark_down=" observe layer4 error-limit 1 on-error mark-down",
        )
        if cache and board_servers
        else ""
    )
    cache_section = (
        _CACHE.format(mb=CACHE_MB, object_bytes=OBJECT_MAX_BYTES, seconds=CACHE_MAX_SECONDS)
        if cache
        else ""
    )
    return _CONFIG.format(
        lua=(
            f"    tune.lua.maxmem {LUA_MAXMEM_MB}\n"
            f"    setenv BOARD_COLLAPSE_WAIT_MS {int(collapse_wait_ms)}\n"
            f'    lua-load "{COLLAPSE_LUA}"\n'
            if cache
            else ""
        ),
        bind=bind,
        health_host=health_host,
        per_server=per_server,
        servers=lines,
        reads=reads,
        routed=routed,
        boards=ahead + web_kept,
        board_backend=board_backend,
        cache=cache_section,
    )


_CONFIG = """\
global
    maxconn 4096
    log stdout format raw local0
{lua}
defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 3s
    timeout client 180s
    timeout server 180s
    timeout queue 120s
    timeout http-request 60s
    # A reader's idle connection is kept longer than clients keep one before reuse (chal:
    # 30 s) and closed before gunicorn would close HAProxy's (WEB_KEEPALIVE: 75 s).
    timeout http-keep-alive 60s
    timeout check 10s
    # A request that could not reach a server (refused: a stopped host) goes to another.
    retries 3
    option redispatch 1
{cache}
frontend www
    bind {bind}
{reads}{routed}    default_backend web

backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host {health_host}
    http-check expect status 200
{boards}
    # At most as many requests per server as it has gunicorn workers; the rest wait here.
    default-server check inter 2s fall 3 rise 2 maxconn {per_server}
{servers}
{board_backend}"""

_CACHE = """
# The public boards, at the cost of a static file (leaderboard/cache/proxy.py).
cache boards
    total-max-size {mb}
    max-object-size {object_bytes}
    max-age {seconds}
"""

_BOARD_READS = """\
    # Anonymous reads of the boards (no cookie, no credentials; the API's in JSON) are
    # answered from the cache for as long as each answer's s-maxage allows.
    acl board path_reg {boards}
    acl api_board path_reg {api_boards}
    acl anonymous_read method GET HEAD
    acl signed_in req.hdr(cookie) -m found
    acl signed_in req.hdr(authorization) -m found
    acl json_wanted req.hdr(accept) -m str application/json */*
    acl accept_given req.hdr(accept) -m found
    http-request set-var(txn.board) bool(true) if anonymous_read board !api_board !signed_in
    http-request set-var(txn.board) bool(true) if anonymous_read api_board json_wanted !signed_in
    http-request set-var(txn.board) bool(true) if anonymous_read api_board !accept_given !signed_in
"""

# The spill-over stays though a spilled read waits behind every request queued at the web
# (13-49 s in the rush at 200 teams): keeping the reads at the board servers while the web
# has a queue made every miss wait there, and the rush's board p95 rose from 0.69 s to
# 2.82 s (docs/developers/benchmarks.md, issue 68's third session).
_BOARD_ROUTE = """\
    # What the cache cannot answer goes to the board servers while one is up: their threads
    # are the readers' alone, never taken by uploads (the Procfile's boards process). While
    # a whole round of their slots is already waiting for them (renders slowed by a loaded
    # host), a read spills over to the web servers, where it goes ahead of other requests.
    acl board_servers_up nbsrv(boards) ge 1
    acl board_servers_free queue(boards) lt {slots}
    use_backend boards if {{ var(txn.board) -m bool }} board_servers_up board_servers_free
"""

_COLLAPSE = """\
    # A board whose copy expired is read by one reader at a time: the others wait here for
    # its answer, then get it from the cache (collapse.lua; the cache is asked once, after).
    http-request lua.board_read if { var(txn.board) -m bool }
    http-response lua.board_answered if { var(txn.board_key) -m found }
"""

_BOARDS_KEPT = """\
    http-request cache-use boards if { var(txn.board) -m bool }
    http-response del-header vary if { var(txn.board) -m bool }
    http-response cache-store boards if { var(txn.board) -m bool }
"""

_BOARDS_AHEAD = """\
    # A board read the cache could not answer, here when no board server is up, costs a
    # server one Redis call (the fast path): it waits in the queue as if it had come {ahead}
    # ms earlier, ahead of the uploads and signed-in pages queued since (they hold a server's
    # thread for longer), so that a reader does not wait behind a rush of uploads; an upload
    # is never passed by more than that.
    http-request set-priority-offset int(-{ahead}) if {{ var(txn.board) -m bool }}
"""

_BOARD_BACKEND = """
backend boards
    # The anonymous board reads the cache could not answer (leaderboard/cache/proxy.py).
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host {health_host}
    http-check expect status 200
{kept}    # A board server that refuses a connection (stopped) is taken out at once, not after
    # three checks: the reads go to the web servers until it answers its checks again.
    default-server check inter 2s fall 3 rise 2 maxconn {per_server}{mark_down}
{servers}
"""
