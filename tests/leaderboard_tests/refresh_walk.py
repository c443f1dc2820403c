"""A recorder of the walk a team's upload takes to its refreshed board: which product modules
the calls enter, in order (docs/decisions/0076-one-home-for-the-refresh.md).

**The rooms.** The walk goes through product modules (the import-linter root packages,
pyproject.toml). Outside the walk: Python's own and third-party modules (Django, DRF, Celery,
numpy...), the tests, and the platform's shared utilities, which any room may use any number
of times without the walk going anywhere: ``common``, ``kinds``, ``runtime``, ``jobs`` (the
job bus), every ``models`` module, every pure ``core`` package, the apps' ``task_names``, and
:data:`SHARED` (leaves: :func:`recorded` notes any call one of them makes into a room, and
the test refuses it). ``challenges.hooks`` is the event dispatch: a hook's call of its
receiver is the emitter's call. A frame outside the walk is transparent: a call's *caller* is
the nearest room below it on the stack (none for a callback Django runs after a commit, or
for the test itself: the process's door).

**The path.** The scoring's calls that enter the board refresh's receiver (:data:`DOOR`), and
everything they call or hand on to ``transaction.on_commit``; its head is the rooms that led
there (the upload, then the scoring; each entered by the test as its process's door). The
scoring's other listeners (the champion's weighing, notifications, the algorithm follow-up,
the digests) are not on it.

**A visit** of room M is a call that enters a function of M from a different room (or from
no room). Returns up the stack are not visits (nothing is entered), nor are calls inside M.
Since a visit comes from elsewhere, between two visits of M the walk had left M (returned
from it or called out of it). **A room visited twice** is the failure, with one exception
that says where the refresh lives: a callback handed to ``transaction.on_commit`` (entered
from no room once the scoring commits) may resume the walk in :data:`HOME`, and only there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

ROOTS = (
    "challenge_platform", "challenges", "datasets", "scoring", "leaderboard", "operations",
    "algorithms", "standings", "notifications", "site_pages", "discussion",
)  # fmt: skip
SHARED = frozenset(
    {
        "challenges.markdown",  # a model field's conversion from the database
        "leaderboard.cache.connection",  # the caches' Redis client and clock
    }
)
TRANSPARENT = frozenset({"challenges.hooks"})
HOME = "leaderboard.refresh"
DOOR = ("leaderboard.receivers", "refresh_task_board")


def in_walk(module: str) -> bool:
    """Whether ``module`` is a room of the walk (see the module's docstring)."""
    if module.split(".", 1)[0] not in ROOTS or module in SHARED or module in TRANSPARENT:
        return False
    return not ({"models", "core", "task_names", "migrations"} & set(module.split(".")))


@dataclass(frozen=True)
class Visit:
    module: str
    caller: str | None  # the room it was entered from (None: from no room)
    function: str


@dataclass
class Walk:
    head: list[Visit] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    # Calls a SHARED module made into a room: a shared utility must be a leaf.
    shared_calls: list[tuple[str, str]] = field(default_factory=list)

    def path(self) -> list[Visit]:
        return self.head + self.visits

    def modules(self) -> list[str]:
        """The rooms in the order the walk first entered them."""
        return list(dict.fromkeys(v.module for v in self.path()))


def _module(frame) -> str:
    return frame.f_globals.get("__name__", "")


def _caller(frame) -> tuple[str | None, str | None]:
    """The nearest room below ``frame`` on the stack, and the nearest SHARED module between
    them (a shared utility calling into a room)."""
    shared = None
    back = frame.f_back
    while back is not None:
        name = _module(back)
        if in_walk(name):
            return name, shared
        if shared is None and name in SHARED:
            shared = name
        back = back.f_back
    return None, shared


def _on_path(frame, handed: set) -> bool:
    """Whether ``frame`` runs under the door, or in a callback the path handed on."""
    while frame is not None:
        code = frame.f_code
        if code in handed or (_module(frame), code.co_name) == DOOR:
            return True
        frame = frame.f_back
    return False


@contextmanager
def recorded() -> Iterator[Walk]:
    """Record the walk of the calls made inside the block (this thread)."""
    walk = Walk()
    handed: set = set()  # the code of the callbacks the path handed to on_commit
    on_commit = transaction.on_commit.__code__
    previous = sys.getprofile()

    def profile(frame, event, arg) -> None:
        if event != "call":
            return
        if frame.f_code is on_commit:
            if _on_path(frame, handed):
                handed.add(frame.f_locals["func"].__code__)
            return
        module = _module(frame)
        if not in_walk(module):
            return
        caller, shared = _caller(frame)
        if caller == module:
            return  # a call inside the room
        visit = Visit(module, caller, frame.f_code.co_name)
        if _on_path(frame, handed):
            if shared is not None:
                walk.shared_calls.append((shared, module))
            walk.visits.append(visit)
        elif not walk.visits and caller is None:
            walk.head.append(visit)  # a process's door: the upload, the scoring

    sys.setprofile(profile)
    try:
        yield walk
    finally:
        sys.setprofile(previous)


def revisits(path: list[Visit]) -> list[str]:
    """What in ``path`` breaks the rule, as ``"caller -> module.function"``: a visit of a room
    a visit entered before, but for a callback resuming the walk in :data:`HOME`; and a
    callback resuming it anywhere else."""
    seen: set[str] = set()
    found = []
    for visit in path:
        called_back = visit.caller is None and DOOR[0] in seen  # past the head's doors
        if called_back and visit.module != HOME:
            found.append(f"a callback -> {visit.module}.{visit.function} (not in {HOME})")
        elif visit.module in seen and not called_back:
            found.append(f"{visit.caller} -> {visit.module}.{visit.function}")
        seen.add(visit.module)
    return found
