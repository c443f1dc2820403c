"""The error a refused bundle raises (its wording helpers are ``common.wording``)."""

from __future__ import annotations

from collections.abc import Sequence


class BundleInvalid(Exception):
    """A bundle was refused; ``problems`` lists every reason found, in plain words."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"the bundle has {count} problem{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"- {p}" for p in self.problems)])
