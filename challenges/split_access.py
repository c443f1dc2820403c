"""Which split of a board a reader asked for and may see: the one home of ``?split=``.

Every board that ranks the public and the private split (a task's, a track's, the transfer
matrix, the post-challenge board; their pages, CSV exports and API) reads the reader's
``?split=`` through :func:`reader_split`:

- no ``split`` asks for the public split (:data:`DEFAULT_SPLIT`);
- a value other than ``public`` or ``private`` is refused (:data:`UNKNOWN_SPLIT`, 400);
- the private split is shown to organizers always and to everyone else once the challenge
  reveals it (the organizers' action, or its ``reveal_at``): :func:`private_visible`;
  before that it is refused (:data:`PRIVATE_HIDDEN`, 403).

The API answers a refusal with ``{"detail", "code"}`` (``challenges.api.split``,
which also documents the parameter; this module imports nothing of DRF, so the selectors that
ask :func:`private_visible` cost no command its start); a page answers 404 with the same
message (:func:`page_split`): a page hides what it cannot show. The
toggle between the two splits on a page is one template tag,
``{% split_toggle %}`` (``challenges/templatetags/split_toggle.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404, HttpRequest

from common.splits import BOARD_SPLITS

from .models import Challenge
from .selectors import is_organizer

PUBLIC, PRIVATE = BOARD_SPLITS
DEFAULT_SPLIT = PUBLIC


@dataclass(frozen=True)
class SplitRefusal:
    """Why a ``?split=`` cannot be shown: the HTTP status, the rule's code and the message."""

    status: int
    code: str
    message: str


UNKNOWN_SPLIT = SplitRefusal(400, "unknown_split", "split must be 'public' or 'private'.")
PRIVATE_HIDDEN = SplitRefusal(
    403, "private_not_revealed", "The private leaderboard is hidden until the organizers reveal it."
)


@dataclass(frozen=True)
class ReaderSplit:
    """The decision for one reader: the split to show (None when refused), whether this
    reader may see the private split (a page then offers the toggle), and the refusal."""

    split: str | None
    private_visible: bool
    refusal: SplitRefusal | None = None


def private_visible(*, challenge: Challenge, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Private scores and boards: organizers always; everyone else once the challenge reveals
    them (by the organizers' action or at its ``reveal_at``)."""
    return is_organizer(user=user) or challenge.private_visible()


def reader_split(
    *, asked: str | None, challenge: Challenge, user: AbstractBaseUser | AnonymousUser
) -> ReaderSplit:
    """The split ``user`` asked for (``asked``, the raw ``?split=``; None: not given) and may
    see on a board of ``challenge``, or the refusal: unknown values first, then the private
    split before it is revealed to this reader."""
    visible = private_visible(challenge=challenge, user=user)
    split = DEFAULT_SPLIT if asked is None else asked
    if split not in BOARD_SPLITS:
        return ReaderSplit(None, visible, UNKNOWN_SPLIT)
    if split == PRIVATE and not visible:
        return ReaderSplit(None, visible, PRIVATE_HIDDEN)
    return ReaderSplit(split, visible)


def page_split(*, request: HttpRequest, challenge: Challenge) -> ReaderSplit:
    """:func:`reader_split` for a page or a CSV export; raises 404 with the refusal's message
    (a page hides what it cannot show)."""
    decided = reader_split(asked=request.GET.get("split"), challenge=challenge, user=request.user)
    if decided.refusal is not None:
        raise Http404(decided.refusal.message)
    return decided
