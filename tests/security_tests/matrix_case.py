"""The authorization matrix's vocabulary: status classes and one case (a URL, a method, what
each role must get). The cases live in ``test_authorization_matrix`` (the site's pages),
``matrix_api``, ``matrix_admin`` and, for accounts, rules and task owners,
``matrix_accounts``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security_tests.world import PASSWORD, ROLES, World

# Status classes.
OK = "2xx"
LOGIN = "login"  # 302 to the site's or the admin's login page
REDIRECT = "3xx"  # a redirect elsewhere
ALL_OK = (OK, OK, OK, OK)
ORG_ONLY = (LOGIN, LOGIN, LOGIN, OK)  # anon, a, b, org
LOGGED_IN = (LOGIN, OK, OK, OK)


@dataclass(frozen=True)
class Case:
    route: str  # the URL pattern as the resolver joins it
    path: str  # with {placeholders} from World.params
    expect: tuple[str, str, str, str]  # anon, team A, team B, organizer
    method: str = "GET"
    data: Callable[[World], dict[str, Any]] | None = None
    private: bool = False  # a private board: open to everyone once revealed
    owner: str | None = None  # the task owner's; None: what team A and team B both get

    def expected(self, role: str, *, revealed: bool) -> str:
        if revealed and self.private:
            return OK
        if role == "owner":
            if self.owner is not None:
                return self.owner
            assert self.expect[1] == self.expect[2], f"{self.path}: say what the owner gets"
            return self.expect[1]
        return self.expect[ROLES.index(role)]


API_LOGGED_IN = ("401", OK, OK, OK)


# Request bodies more than one table uses.
def upload(world: World) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("p.csv", world.files["a"]), "note": "matrix"}


def bad_login(world: World) -> dict[str, Any]:
    return {"username": world.users["a"].username, "password": "not-" + PASSWORD}
